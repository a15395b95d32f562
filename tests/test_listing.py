"""The one finding record, its CSV layout and the HTML page kit."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pandas as pd
import pytest

from transforms import listing, pages
from transforms.conformance.findings import COLUMNS as CONFORMANCE_COLUMNS
from transforms.conformance.findings import as_listing, from_listing
from transforms.issues import IssueLog, describe
from transforms.listing import COLUMNS, Finding
from transforms.quality.report import write_listing

HEADER = (
    "source,severity,rule,dataset,file,row,seq,subject,site,variable,value,message,suite,reference"
)


def _raw_form() -> pd.DataFrame:
    return pd.DataFrame(
        {"__ROW": [2, 3, 4], "SUBJID": ["1001", "1002", "1003"], "SEX": ["M", "F", "Mle"]}
    )


# --- the record and the CSV layout ------------------------------------------------------------


def test_layout_is_the_record() -> None:
    assert ",".join(COLUMNS) == HEADER
    assert listing.empty().dtypes["row"] == "Int64"
    assert list(listing.empty().columns) == COLUMNS


def test_mapping_issue_derived_by_hand(tmp_path: Path) -> None:
    """Row 4 of dm.csv (subject 1003) spells SEX "Mle": one CT error, listed exactly so."""
    form = _raw_form()
    issues = IssueLog()
    issues.add(form, form["SEX"] == "Mle", severity="error", dataset="DM", form="dm.csv",
               column="SEX", values=form["SEX"], rule="CT",
               message="not a term of codelist C66731, nor a synonym")  # fmt: skip
    assert listing.records(issues.frame()) == [
        Finding(source="mapping", severity="error", rule="CT", dataset="DM", file="dm.csv",
                row=4, subject="1003", variable="SEX", value="Mle",
                message="not a term of codelist C66731, nor a synonym")
    ]  # fmt: skip
    path = tmp_path / "reports" / "issues_dm.csv"
    issues.write_csv(path)
    # One header, minimal quoting (the comma in the message), empty cells for what a
    # mapping issue has not (seq, site, suite, reference), LF line ends.
    assert (
        path.read_bytes()
        == (
            f"{HEADER}\n"
            'mapping,error,CT,DM,dm.csv,4,,1003,,SEX,Mle,"not a term of codelist C66731, nor a '
            'synonym",,\n'
        ).encode()
    )
    assert describe(issues.errors()) == (
        "ERROR DM: form dm.csv row 4 column SEX [CT] value 'Mle': "
        "not a term of codelist C66731, nor a synonym"
    )


def test_xpt_records_take_the_same_layout() -> None:
    """The XPT writer's refusals, given as records in the mapping's words, are listed in
    the layout with source xpt (transforms.jobs.sdtm's _xpt_sources uses this)."""
    found = [{"severity": "error", "dataset": "AE", "form": "ae.csv", "row": 7,
              "subject": "POMMAINT-01-1001", "column": "AETERM", "value": "é" * 201,
              "rule": "XPT", "message": "longer than 200 bytes"}]  # fmt: skip
    frame = IssueLog.from_records(found, source=listing.XPT).frame()
    assert frame[["source", "file", "row", "variable", "rule"]].iloc[0].tolist() == [
        "xpt", "ae.csv", 7, "AETERM", "XPT"
    ]  # fmt: skip


def test_csv_round_trip_and_replaces_a_linked_file(tmp_path: Path) -> None:
    findings = [
        Finding(source="raw-gate", severity="warning", rule="LB-RANGE", dataset="LB",
                file="lb.csv", row=12, subject="1001", site="01", variable="LBORRES",
                value='13 "g/dL"', message="outside 4 to 25", suite="POMMAINT.raw.LB",
                reference="lb.yaml"),
        Finding(source="conformance", severity="Notice", rule="SD0001", dataset="CM",
                message="CM has no records"),
    ]  # fmt: skip
    path = tmp_path / "quality_raw.csv"
    other = tmp_path / "earlier.csv"
    other.write_text("earlier run\n")
    path.hardlink_to(other)
    listing.write_csv(listing.frame(findings), path)
    assert other.read_text() == "earlier run\n"  # replaced, not written through
    assert listing.records(listing.read_csv(path)) == findings
    assert (
        path.read_text()
        .splitlines()[1]
        .endswith(',LBORRES,"13 ""g/dL""",outside 4 to 25,POMMAINT.raw.LB,lb.yaml')
    )


def test_unknown_source_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown finding source 'gate'"):
        listing.conform(pd.DataFrame({"rule": ["X"]}), "gate")


def test_conformance_listing_reads_back_as_its_findings() -> None:
    findings = pd.DataFrame(
        [["SD0002", "Error", "AE", "AETERM", "P-01", "3", 3, pd.NA, "Required AETERM is null"]],
        columns=CONFORMANCE_COLUMNS,
    ).astype({"row": "Int64"})
    listed = as_listing(findings)
    assert listed[["source", "rule", "subject", "seq", "row"]].iloc[0].tolist() == [
        "conformance", "SD0002", "P-01", "3", 3
    ]  # fmt: skip
    assert str(listed.loc[0, "reference"]).startswith("FDA Validator Rules v1.3")
    back = from_listing(listed)
    assert list(back.columns) == CONFORMANCE_COLUMNS
    assert back.astype(object).where(back.notna(), None).values.tolist() == [
        ["SD0002", "Error", "AE", "AETERM", "P-01", "3", 3, None, "Required AETERM is null"]
    ]


# --- every listing of a real run ----------------------------------------------------------------


def _listings(run: Path) -> list[Path]:
    reports = run / "reports"
    return sorted(
        [*reports.glob("issues_*.csv"), *reports.glob("quality_*.csv"), reports / "conformance.csv"]
    )


@pytest.mark.parametrize("which", ["published", "adam_published"])
def test_every_listing_of_a_run_has_the_one_layout(
    which: str, request: pytest.FixtureRequest
) -> None:
    run: Path = request.getfixturevalue(which)
    paths = _listings(run)
    names = {p.name for p in paths}
    assert {"issues_raw.csv", "issues_dm.csv", "quality_raw.csv", "quality_sdtm.csv"} <= names
    assert "conformance.csv" in names
    sources = {"issues": {"mapping"}, "quality": {"raw-gate", "sdtm-gate"},
               "conformance": {"conformance"}}  # fmt: skip
    for path in paths:
        assert path.read_text(encoding="utf-8").splitlines()[0] == HEADER, path.name
        frame = listing.read_csv(path)
        assert set(frame["source"]) <= sources[path.stem.split("_")[0]], path.name
    # The sample's known findings, as the raw gate lists them: night 1's haemoglobin keyed
    # without its decimal point and the investigator's responses planted discordant with
    # the IMWG categories of the labs (warnings by design, issue 18); a screen failure's
    # screening value breaking the criterion it failed is expected, not listed.
    raw = listing.records(listing.read_csv(run / "reports" / "quality_raw.csv"))
    assert sorted((f.source, f.severity, f.rule, f.dataset, f.file, f.subject, f.variable)
                  for f in raw) == [
        ("raw-gate", "warning", "LB-RANGE", "LB", "lb.csv", "1001", "LBORRES"),
        *[("raw-gate", "warning", "RS-IMWG-CONSISTENCY", "RS", "rs.csv", s, "RSORRES")
          for s in ("1002", "1003", "1005", "1007", "1011", "1015")],
    ]  # fmt: skip
    haemoglobin = next(f for f in raw if f.rule == "LB-RANGE")
    assert haemoglobin.row is not None and haemoglobin.suite == "POMMAINT.raw.LB"


# --- the HTML pages ----------------------------------------------------------------------------


def test_quality_page_escapes_values_and_colours_severity(tmp_path: Path) -> None:
    findings = listing.frame([
        Finding(source="raw-gate", severity="error", rule="CT", dataset="DM", file="dm.csv",
                row=3, subject="1002", variable="SEX", value="<script>alert(1)</script>",
                message='not in "SEX" & co'),
        Finding(source="raw-gate", severity="warning", rule="LB-RANGE", dataset="LB"),
    ])  # fmt: skip
    csv, html = tmp_path / "quality_raw.csv", tmp_path / "quality_raw.html"
    write_listing(findings, csv, html, "Quality gate raw - S<1> run R", "S<1>", "R&1")
    text = html.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>alert" not in text
    assert "not in &#34;SEX&#34; &amp; co" in text and "Study S&lt;1&gt;, run R&amp;1" in text
    page = lxml.html.fromstring(text)
    assert len(page.xpath("//script")) == 1  # the filter boxes', no other
    rows = page.xpath('//table[@id="listing"]/tbody/tr')
    assert [r.get("class") for r in rows] == ["sev-error", "sev-warning"]
    cells = [c.text_content() for c in rows[0].xpath("td")]
    assert cells[:3] == ["error", "1002", ""] and "<script>alert(1)</script>" in cells
    heads = page.xpath('//table[@id="listing"]/thead/tr[1]/th/text()')
    assert len(page.xpath("//thead//input")) == len(heads)


def test_every_page_extends_the_base(tmp_path: Path) -> None:
    kit = Path(pages.__file__).parent / "templates"
    assert {p.name for p in kit.glob("*.html")} == {
        "base.html", "kit.html", "quality.html", "conformance.html", "endpoints.html"
    }  # fmt: skip
    for name in ("quality.html", "conformance.html", "endpoints.html"):
        assert (kit / name).read_text().startswith('{% extends "base.html" %}')
