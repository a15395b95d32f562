"""ADSL, ADRS, ADAE and ADTTE of the default sample: golden values derived by hand from the
raw pages (comments), the response rules on hand-made records, and the published files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from tests.conftest import ROOT, copy_store
from transforms.adam.spec import AdamSpec, SpecError, conform, load_adam_spec
from transforms.adam.vocabulary import Inputs, build
from transforms.errors import NothingNew
from transforms.jobs.adam import start
from transforms.jobs.plan import Place
from transforms.specs import load_study

ADAM = ROOT / "sdtm_specs" / "POMMAINT" / "adam"


def _row(folder: Path, name: str, usubjid: str, **where: str) -> dict[str, object]:
    data = pd.read_parquet(folder / "adam" / f"{name}.parquet")
    hit = data["USUBJID"] == f"POMMAINT-01-{usubjid}"
    for var, value in where.items():
        hit &= data[var] == value
    (record,) = data[hit].to_dict("records")
    return {str(k): (None if pd.isna(v) else v) for k, v in record.items()}


def _day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def test_adsl_subject_who_progressed_and_died(adam_published: Path) -> None:
    # 1008: first dose 18 SEP 2024, last 31 DEC 2024 (ex.csv); end of treatment for
    # progressive disease (eot.csv); alive at the 11 APR 2025 contact, dead 11 JUN 2025
    # (sfu.csv, eos.csv); new therapy from 09 FEB 2025.
    row = _row(adam_published, "adsl", "1008")
    assert {k: row[k] for k in ("TRTSDT", "TRTEDT", "DTHDT", "LSTALVDT", "NACTDT")} == {
        "TRTSDT": _day("2024-09-18"),
        "TRTEDT": _day("2024-12-31"),
        "DTHDT": _day("2025-06-11"),
        "LSTALVDT": _day("2025-04-11"),
        "NACTDT": _day("2025-02-09"),
    }
    assert (row["EOTSTT"], row["DCTREAS"], row["EOSSTT"], row["DCSREAS"]) == (
        "DISCONTINUED", "PROGRESSIVE DISEASE", "DISCONTINUED", "DEATH",
    )  # fmt: skip
    assert (row["DTHFL"], row["SAFFL"], row["ITTFL"], row["TRTDURD"]) == ("Y", "Y", "Y", 105.0)


def test_adsl_last_alive_and_imputed_therapy_date(adam_published: Path) -> None:
    # 1003: no "Alive" contact; the end-of-treatment visit (04 JAN 2025) is the last day
    # known alive (the death on 11 MAR 2025 is not an alive record).
    assert _row(adam_published, "adsl", "1003")["LSTALVDT"] == _day("2025-01-04")
    # 1015: new therapy "UN APR 2026" -> 1 April 2026, day imputed.
    row = _row(adam_published, "adsl", "1015")
    assert (row["NACTDT"], row["NACTDTF"]) == (_day("2026-04-01"), "D")


def test_adtte_pfs_and_os_goldens(adam_published: Path) -> None:
    # 1008: PD at the 08 JAN 2025 assessment: 2024-09-18 .. 2025-01-08 = 113 days;
    # death 11 JUN 2025 = 267 days.
    pfs = _row(adam_published, "adtte", "1008", PARAMCD="PFS")
    assert (pfs["ADT"], pfs["AVAL"], pfs["CNSR"], pfs["EVNTDESC"]) == (
        _day("2025-01-08"), 113.0, 0.0, "Disease Progression",
    )  # fmt: skip
    assert (pfs["STARTDT"], pfs["SRCDOM"], pfs["SRCVAR"]) == (_day("2024-09-18"), "ADRS", "ADT")
    os_ = _row(adam_published, "adtte", "1008", PARAMCD="OS")
    assert (os_["ADT"], os_["AVAL"], os_["CNSR"]) == (_day("2025-06-11"), 267.0, 0.0)
    # 1006 died (pneumonia) 16 JAN 2026, nine days after a complete response on 07 JAN:
    # death is the PFS event.
    pfs = _row(adam_published, "adtte", "1006", PARAMCD="PFS")
    assert (pfs["ADT"], pfs["AVAL"], pfs["CNSR"], pfs["EVNTDESC"]) == (
        _day("2026-01-16"), 551.0, 0.0, "Death",
    )  # fmt: skip
    # 1004 stopped for an adverse event, no progression: censored at the last adequate
    # assessment (27 FEB 2025).
    pfs = _row(adam_published, "adtte", "1004", PARAMCD="PFS")
    assert (pfs["ADT"], pfs["AVAL"], pfs["CNSR"], pfs["CNSDTDSC"]) == (
        _day("2025-02-27"), 338.0, 1.0, "Last Adequate Response Assessment",
    )  # fmt: skip


def test_adtte_source_sequence_points_at_the_adrs_record(adam_published: Path) -> None:
    tte = pd.read_parquet(adam_published / "adam" / "adtte.parquet")
    adrs = pd.read_parquet(adam_published / "adam" / "adrs.parquet")
    traced = tte[tte["SRCDOM"] == "ADRS"].merge(
        adrs, left_on=["USUBJID", "SRCSEQ"], right_on=["USUBJID", "ASEQ"], suffixes=("", "_R")
    )
    assert len(traced) == (tte["SRCDOM"] == "ADRS").sum() > 0
    assert (traced["ADT"] == traced["ADT_R"]).all()
    assert set(traced["PARAMCD_R"]) <= {"PD", "DEATH", "LSTA"}
    # One PFS and one OS row per ITT subject, AVAL = ADT - STARTDT + 1.
    assert tte.groupby("PARAMCD")["USUBJID"].nunique().to_dict() == {"OS": 15, "PFS": 15}
    assert ((tte["ADT"] - tte["STARTDT"]).dt.days + 1 == tte["AVAL"]).all()


def test_adae_imputation_and_treatment_emergence(adam_published: Path) -> None:
    # 1001 AE 1 (upper respiratory tract infection) started "UN NOV 2023"; the first dose
    # was 28 OCT 2023: 1 Nov 2023, day imputed.
    row = _row(adam_published, "adae", "1001", AETERM="Upper respiratory tract infection")
    assert (row["ASTDT"], row["ASTDTF"], row["TRTEMFL"]) == (_day("2023-11-01"), "D", "Y")
    # 1003 AE 2 ended "2024-12": 31 Dec 2024, day imputed.
    ae = pd.read_parquet(adam_published / "adam" / "adae.parquet")
    ended = ae[(ae["USUBJID"] == "POMMAINT-01-1003") & (ae["AESEQ"] == 2)].iloc[0]
    assert (ended["AENDT"], ended["AENDTF"]) == (_day("2024-12-31"), "D")
    # 1004 AE 1 began three days before the first dose: not treatment-emergent.
    before = ae[(ae["USUBJID"] == "POMMAINT-01-1004") & (ae["AESEQ"] == 1)].iloc[0]
    assert before["ASTDT"] == _day("2024-03-24") and before["TRTEMFL"] is pd.NA
    # One worst-grade record per subject and preferred term among the emergent ones.
    te = ae[ae["TRTEMFL"] == "Y"]
    worst = te[te["WGRPFL"] == "Y"]
    assert len(worst) == len(te.groupby(["USUBJID", "AEBODSYS", "AEDECOD"]))
    top = te.groupby(["USUBJID", "AEDECOD"])["ATOXGRN"].max()
    assert (worst.set_index(["USUBJID", "AEDECOD"])["ATOXGRN"] == top.loc[worst.set_index(
        ["USUBJID", "AEDECOD"]).index]).all()  # fmt: skip


def test_adam_xpt_has_date9_dates_labels_and_the_parquet_rows(adam_published: Path) -> None:
    for name in ("adsl", "adrs", "adae", "adtte"):
        spec = load_adam_spec(ADAM / f"{name}.yaml")
        data, meta = pyreadstat.read_xport(adam_published / "adam" / f"{name}.xpt")
        parquet = pd.read_parquet(adam_published / "adam" / f"{name}.parquet")
        assert meta.table_name == name.upper() and meta.file_label == spec.label
        assert list(data.columns) == spec.names() == list(parquet.columns)
        assert len(data) == len(parquet)
        for var in spec.variables:
            assert meta.column_names_to_labels[var.name] == var.label
            if var.name.endswith("DT") and var.type == "Num":
                assert meta.original_variable_types[var.name] == "DATE9", (name, var.name)
                read = pd.to_datetime(data[var.name]).astype("datetime64[s]")
                stored = parquet[var.name].astype("datetime64[s]")
                pd.testing.assert_series_equal(read, stored, check_names=False)


def test_adam_dataset_json_types_dates_as_integers(adam_published: Path) -> None:
    doc = json.loads((adam_published / "adam" / "adtte.json").read_text(encoding="utf-8"))
    columns = {c["name"]: c for c in doc["columns"]}
    assert columns["ADT"]["dataType"] == "date" and columns["ADT"]["targetDataType"] == "integer"
    assert columns["CNSR"]["dataType"] == "integer" and columns["ASEQ"]["dataType"] == "integer"
    assert doc["itemGroupOID"] == "IG.ADTTE" and columns["AVAL"]["itemOID"] == "IT.ADTTE.AVAL"


def test_adam_run_is_published_beside_its_sdtm(adam_published: Path) -> None:
    manifest = json.loads((adam_published / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["adam"]["rows"]["ADSL"] == 18  # 3 screen failures, ITTFL/SAFFL N
    assert manifest["run_id"].startswith(manifest["sdtm_run"] + "-adam-")
    assert "sdtm/dm.xpt" in manifest["outputs"] and "adam/adtte.xpt" in manifest["outputs"]
    # The SDTM run it was made from is untouched: no adam/ files were written there.
    source = adam_published.parent / "runs" / manifest["sdtm_run"]
    assert not any((source / "adam").iterdir())


def test_an_edited_endpoint_declaration_is_a_new_adam_run(
    adam_published: Path, tmp_path: Path
) -> None:
    store = copy_store(adam_published, tmp_path / "store").parents[1]
    root = tmp_path / "specs"
    shutil.copytree(ROOT / "sdtm_specs", root)
    # The same specs: the published ADaM stands.
    with pytest.raises(NothingNew, match="is already published"):
        start(load_study("POMMAINT", root), Place(store=store))
    # study.yaml's endpoints: gain a landmark: the ADaM job runs again to summarise it.
    path = root / "POMMAINT" / "study.yaml"
    path.write_text(path.read_text().replace("{730: 2 years}", "{365: 1 year, 730: 2 years}", 1))
    load_study.cache_clear()  # a new process in production; here the same one
    study = load_study("POMMAINT", root)
    assert study.endpoints is not None and [lm.day for lm in study.endpoints.landmarks] == [
        365, 730,
    ]  # fmt: skip
    run = start(study, Place(store=store))
    assert run.adam_info["from_run"] == adam_published.resolve().name


# --- response rules on hand-made records -------------------------------------------------


def _adsl(**dates: str | None) -> pd.DataFrame:
    base = {"STUDYID": "S", "USUBJID": "S-1", "SUBJID": "1", "SITEID": "01", "TRT01P": "T",
            "TRT01A": "T", "ITTFL": "Y", "SAFFL": "Y", "AGE": 70.0, "AGEGR1": ">=65",
            "SEX": "F"}  # fmt: skip
    frame = pd.DataFrame([base])
    for var in ("TRTSDT", "NACTDT", "DTHDT", "LSTALVDT"):
        frame[var] = pd.to_datetime(pd.Series([dates.get(var)])).astype("datetime64[s]")
    return frame


def _rs(*assessments: tuple[str, str]) -> dict[str, pd.DataFrame]:
    rows = [
        {"USUBJID": "S-1", "RSTESTCD": "OVRLRESP", "RSSTRESC": r, "RSDTC": d,
         "VISIT": f"V{i}", "VISITNUM": float(i), "RSSEQ": float(i)}
        for i, (d, r) in enumerate(assessments, start=1)
    ]  # fmt: skip
    return {"RS": pd.DataFrame(rows)}


def _param(adrs: pd.DataFrame, code: str) -> dict[str, object]:
    (row,) = adrs[adrs["PARAMCD"] == code].to_dict("records")
    return {str(k): (None if pd.isna(v) else v) for k, v in row.items()}


@pytest.fixture(scope="module")
def adrs_spec() -> AdamSpec:
    return load_adam_spec(ADAM / "adrs.yaml")


def derive_adrs(sdtm: dict[str, pd.DataFrame], adsl: pd.DataFrame, spec: AdamSpec) -> pd.DataFrame:
    """ADRS by the study's spec, from hand-made RS and ADSL."""
    return build(spec.derivations, Inputs(sdtm=sdtm, adam={"ADSL": adsl}))


def test_an_assessment_on_the_first_dose_day_is_not_post_baseline(adrs_spec: AdamSpec) -> None:
    """The tie (checked against admiral, where post-baseline is ADT > TRTSDT): first dose
    1 Jan, the only assessment (PR) on 1 Jan. It is adequate for the response (OVR
    ANL01FL Y) but no post-baseline assessment: no LSTA, and PFS is censored at the first
    dose (CNSR 2, "No Adequate Post-baseline Assessment"), day 1. Before the fix LSTA was
    1 Jan and PFS censored CNSR 1 "Last Adequate Response Assessment"."""
    adsl = _adsl(TRTSDT="2025-01-01", LSTALVDT="2025-01-01")
    adrs = derive_adrs(_rs(("2025-01-01", "PR")), adsl, adrs_spec)
    assert _param(adrs, "OVR")["ANL01FL"] == "Y"
    assert "LSTA" not in set(adrs["PARAMCD"])
    adrs = conform(adrs, adrs_spec)
    adtte_spec = load_adam_spec(ADAM / "adtte.yaml")
    adtte = build(adtte_spec.derivations, Inputs(sdtm={}, adam={"ADSL": adsl, "ADRS": adrs}))
    pfs = _param(adtte, "PFS")
    assert (pfs["CNSR"], pfs["EVNTDESC"], pfs["CNSDTDSC"]) == (
        2,
        "No Adequate Post-baseline Assessment",
        "First Dose",
    )
    assert (pfs["ADT"], pfs["AVAL"], pfs["SRCDOM"], pfs["SRCVAR"]) == (
        _day("2025-01-01"),
        1,
        "ADSL",
        "TRTSDT",
    )
    # One day later the same assessment is post-baseline: LSTA, censored there (CNSR 1).
    adrs = derive_adrs(_rs(("2025-01-02", "PR")), adsl, adrs_spec)
    assert _param(adrs, "LSTA")["ADT"] == _day("2025-01-02")
    adtte = build(
        adtte_spec.derivations,
        Inputs(sdtm={}, adam={"ADSL": adsl, "ADRS": conform(adrs, adrs_spec)}),
    )
    assert (_param(adtte, "PFS")["CNSR"], _param(adtte, "PFS")["AVAL"]) == (1, 2)


def test_a_response_needs_a_second_assessment_to_count(adrs_spec: AdamSpec) -> None:
    # CR at the last assessment only: unconfirmed, best confirmed is the VGPR before it.
    rs = _rs(("2025-02-01", "VGPR"), ("2025-03-01", "VGPR"), ("2025-04-01", "CR"))
    adrs = derive_adrs(rs, _adsl(TRTSDT="2025-01-01"), adrs_spec)
    assert (_param(adrs, "BOR")["AVALC"], _param(adrs, "CRRSP")["AVALC"]) == ("VGPR", "N")
    assert _param(adrs, "VGPRRSP")["AVALC"] == "Y"
    # PR then PD: the PR is never confirmed: stable disease at best.
    adrs = derive_adrs(
        _rs(("2025-02-01", "PR"), ("2025-03-01", "PD")), _adsl(TRTSDT="2025-01-01"), adrs_spec
    )
    assert _param(adrs, "BOR")["AVALC"] == "SD"


def test_progression_after_two_missed_assessments_is_not_an_event(adrs_spec: AdamSpec) -> None:
    # Last adequate assessment 1 Feb, PD 15 Apr (73 days > 63): PD flagged out; LSTA 1 Feb.
    rs = _rs(("2025-02-01", "PR"), ("2025-04-15", "PD"))
    adrs = derive_adrs(rs, _adsl(TRTSDT="2025-01-01"), adrs_spec)
    assert _param(adrs, "PD")["ANL01FL"] is None
    assert _param(adrs, "LSTA")["ADT"] == _day("2025-02-01")
    # The same PD 60 days after the last assessment counts.
    rs = _rs(("2025-02-01", "PR"), ("2025-04-02", "PD"))
    assert _param(derive_adrs(rs, _adsl(TRTSDT="2025-01-01"), adrs_spec), "PD")["ANL01FL"] == "Y"


def test_assessments_after_new_therapy_are_not_adequate(adrs_spec: AdamSpec) -> None:
    rs = _rs(("2025-02-01", "PR"), ("2025-03-01", "PR"), ("2025-03-20", "PD"))
    adrs = derive_adrs(rs, _adsl(TRTSDT="2025-01-01", NACTDT="2025-03-10"), adrs_spec)
    assert _param(adrs, "LSTA")["ADT"] == _day("2025-03-01")
    assert "PD" not in set(adrs["PARAMCD"])  # the only PD is after the new therapy
    ovr = adrs[adrs["PARAMCD"] == "OVR"].set_index("ADT")["ANL01FL"]
    assert ovr.isna().tolist() == [False, False, True]


def test_adam_spec_errors_name_file_and_variable(tmp_path: Path) -> None:
    spec = tmp_path / "adxx.yaml"
    spec.write_text(
        "dataset: ADXX\nlabel: X\nstructure: BDS\nkeys: [USUBJID]\n"
        "derivations: [{verb: records, from: {dataset: ADSL}}]\n"
        "variables:\n  - {name: USUBJID, origin: Predecessor, source: ADSL.USUBJID}\n"
        "  - {name: NEWVAR, origin: Assigned}\n"
    )
    with pytest.raises(SpecError, match=r"adxx.yaml: variables\[1\]: NEWVAR: not an ADaMIG"):
        load_adam_spec(spec)
    spec.write_text(
        "dataset: ADXX\nlabel: X\nstructure: BDS\nkeys: [USUBJID]\n"
        "derivations: [{verb: records, from: {dataset: ADSL}}]\n"
        "variables:\n  - {name: AVAL, origin: Derived}\n"
    )
    with pytest.raises(
        SpecError, match=r"variables\[0\].method: AVAL: a Derived variable says how"
    ):
        load_adam_spec(spec)


def test_endpoint_summary_is_published_with_the_adam(adam_published: Path) -> None:
    summary = json.loads((adam_published / "reports" / "endpoints.json").read_text())
    tte = pd.read_parquet(adam_published / "adam" / "adtte.parquet")
    for code in ("PFS", "OS"):
        rows = tte[tte["PARAMCD"] == code]
        assert summary[code]["n"] == len(rows) == 15
        assert summary[code]["events"] == int((rows["CNSR"] == 0).sum())
    adrs = pd.read_parquet(adam_published / "adam" / "adrs.parquet")
    cr = adrs[adrs["PARAMCD"] == "CRRSP"]
    assert summary["rates"]["CR"]["count"] == int((cr["AVALC"] == "Y").sum())
    html = (adam_published / "reports" / "endpoints.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 2
    # The ADaM Define-XML sits beside the datasets it describes.
    assert (adam_published / "adam" / "define.xml").exists()
