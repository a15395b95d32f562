"""POMMAINT history forms: diagnosis, medical history, prior and subsequent anticancer therapy,
concomitant medications, ECOG performance status and vital signs (issue 18).

Drawn after the other forms, from the other forms' values (never from the generator's
internal state) and from a random stream of their own (``default_rng([seed, STREAM])``), so
every other form stays byte-identical to what it was before these forms existed. Each
subject's history is consistent with the rest of the export: myeloma diagnosed before
induction, induction before the transplant (COH.ASCTDAT) or ending on COH.INDENDAT, all of
it before consent and cycle 1 day 1 (the first EX.EXSTDAT); ECOG and vital signs at the
screening and cycle day 1 visits the laboratory form shows took place; the isotype at
diagnosis is the one the serum immunofixation (LB) reports; subsequent therapy only for
subjects whose survival follow-up (SFU) says one started, from its start date (NEWTHDAT).

Raw value sets (exact spellings, including the deliberate mess):

- DX.DXISO: "IgG kappa", "IgG lambda", "IgA kappa", "IgA lambda"; DX.ISS and DX.RISS:
  "I", "II", "III" (R-ISS III only with ISS III and a raised LDH: high-risk cytogenetics
  are excluded by the protocol)
- MH.MHCAT: "Medical history", "Prior malignancy"; MHTERM verbatim, MHDECOD / MHSOC the
  MedDRA preferred term and system organ class as coded; MHSTDAT, MHENDAT may be partial
  (``UN MAR 2019``, ``UN UNK 2012``); MHONGO "Yes" (no end date) / "No"; MHTOXGR "1" or
  "2" (CTCAE) for a peripheral neuropathy ongoing at screening only
- PRT.PTLINE: "Induction", "Consolidation", "Conditioning"; PTREG: see ``INDUCTION`` etc.;
  PTDRUG: generic or brand names, mixed case, a few with a trailing space
- NT.NTREG / NTDRUG: see ``SUBSEQUENT``; NTSTDAT is SFU.NEWTHDAT as written (may be partial)
- CMED.CMTRT: see ``_CONMEDS``; CMDOSU "mg", "ug"; CMDOSFRQ "QD", "BID", "Q4W";
  CMROUTE "Oral", "Subcutaneous", "Intravenous"; CMONGO "Yes" (no end date) / "No"
- ECOG.ECOGSC: "0" .. "4"
- VS: SYSBP/DIABP (BPU "mmHg"), PULSE (PULSEU "beats/min" or "bpm"), TEMP (TEMPU "C"),
  WEIGHT (WEIGHTU "kg"), HEIGHT (HEIGHTU "cm", screening only)
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

import numpy as np
import pandas as pd

from samplegen.pommaint import NO_DATE, text_frame

# The child stream of these forms: default_rng([seed, STREAM]), the same as the screening
# forms' (pommaint_screening.STREAM says why they are not split).
STREAM: Final = 18
_EPOCH: Final = date(1970, 1, 1)  # day 0 of the day numbers

# Regimens: name as the site writes it, cycle length (days), drugs as written.
Regimen = tuple[str, int, tuple[str, ...]]
INDUCTION_TE: Final[tuple[tuple[Regimen, float], ...]] = (
    (("VRd", 21, ("Bortezomib", "Lenalidomide", "Dexamethasone")), 0.45),
    (("VTd", 28, ("Bortezomib", "Thalidomide", "Dexamethasone")), 0.15),
    (("Dara-VRd", 28, ("Daratumumab", "Velcade", "Revlimid", "Dexamethasone")), 0.20),
    (("KRd", 28, ("Carfilzomib", "lenalidomide", "dexamethasone")), 0.10),
    (("VCd", 21, ("bortezomib", "Cyclophosphamide", "Dexamethasone ")), 0.10),
)
INDUCTION_TI: Final[tuple[tuple[Regimen, float], ...]] = (
    (("VRd-lite", 28, ("Bortezomib", "Lenalidomide", "Dexamethasone")), 0.40),
    (("Dara-Rd", 28, ("Daratumumab", "Lenalidomide", "Dexamethasone")), 0.25),
    (("VMP", 42, ("Bortezomib", "Melphalan", "Prednisone")), 0.15),
    (("VCd", 21, ("Bortezomib", "cyclophosphamide", "Dexamethasone")), 0.20),
)
CONDITIONING: Final[Regimen] = ("MEL200", 1, ("Melphalan",))
SUBSEQUENT: Final[tuple[tuple[Regimen, float], ...]] = (
    (("Dara-Kd", 28, ("Daratumumab", "Carfilzomib", "Dexamethasone")), 0.30),
    (("DVd", 21, ("Daratumumab", "Bortezomib", "Dexamethasone")), 0.25),
    (("KCd", 28, ("Carfilzomib", "Cyclophosphamide", "Dexamethasone")), 0.20),
    (("Isa-Kd", 28, ("Isatuximab", "Carfilzomib", "Dexamethasone")), 0.10),
    (("VCd", 21, ("Bortezomib", "Cyclophosphamide", "Dexamethasone")), 0.15),
)

# Medical history: (verbatim, MedDRA PT, SOC, prevalence, concomitant drug index or -1).
_HISTORY: Final = (
    ("Hypertension", "Hypertension", "Vascular disorders", 0.30, 0),
    ("Type 2 diabetes", "Type 2 diabetes mellitus", "Metabolism and nutrition disorders",
     0.14, 1),
    ("Hyperlipidaemia", "Hyperlipidaemia", "Metabolism and nutrition disorders", 0.15, 2),
    ("Chronic gastritis", "Gastritis", "Gastrointestinal disorders", 0.12, 3),
    ("Osteoporosis", "Osteoporosis", "Musculoskeletal and connective tissue disorders", 0.10,
     -1),
)  # fmt: skip
_FRACTURE: Final = (
    "Vertebral compression fracture", "Spinal compression fracture",
    "Injury, poisoning and procedural complications",
)  # fmt: skip
_NEUROPATHY: Final = (
    "Peripheral sensory neuropathy", "Peripheral sensory neuropathy", "Nervous system disorders",
)  # fmt: skip
_NEOPLASMS: Final = "Neoplasms benign, malignant and unspecified (incl cysts and polyps)"
_PRIOR_CANCERS: Final = (
    ("Papillary thyroid carcinoma", "Papillary thyroid cancer"),
    ("Basal cell carcinoma", "Basal cell carcinoma"),
    ("Early breast cancer", "Breast cancer"),  # women only
)
# Concomitant drugs: (CMTRT as written, indication, dose, unit, frequency, route).
_CONMEDS: Final = (
    ("Amlodipine", "Hypertension", "5", "mg", "QD", "Oral"),
    ("Metformin", "Type 2 diabetes", "500", "mg", "BID", "Oral"),
    ("Atorvastatin", "Hyperlipidaemia", "20", "mg", "QD", "Oral"),
    ("Omeprazole", "Chronic gastritis", "20", "mg", "QD", "Oral"),
    ("Aspirin", "Thromboprophylaxis", "100", "mg", "QD", "Oral"),
    ("Enoxaparin sodium", "Thromboprophylaxis", "40", "mg", "QD", "Subcutaneous"),
    ("Rivaroxaban", "Thromboprophylaxis", "10", "mg", "QD", "Oral"),
    ("Zoledronic acid", "Myeloma bone disease", "4", "mg", "Q4W", "Intravenous"),
    ("Filgrastim", "Neutropenia", "300", "ug", "QD", "Subcutaneous"),
    ("Levofloxacin", "Pneumonia", "500", "mg", "QD", "Oral"),
)
_ASPIRIN, _ENOXAPARIN, _RIVAROXABAN, _ZOLEDRONIC, _FILGRASTIM, _LEVOFLOXACIN = range(4, 10)
_BORTEZOMIB = ("bortezomib", "velcade")
_DX_COLUMNS: Final = ["SUBJID", "DXDAT", "DXISO", "ISS", "RISS"]
_MH_COLUMNS: Final = ["SUBJID", "MHSPID", "MHCAT", "MHTERM", "MHDECOD", "MHSOC", "MHSTDAT",
                      "MHENDAT", "MHONGO", "MHTOXGR"]  # fmt: skip


def _choose(rng: np.random.Generator, options: tuple[tuple[Regimen, float], ...]) -> Regimen:
    weights = np.array([w for _, w in options])
    return options[int(rng.choice(len(options), p=weights / weights.sum()))][0]


def _days(text: pd.Series) -> pd.Series:
    """Day numbers (since 1970-01-01) of complete ``DD MON YYYY`` dates; NO_DATE otherwise."""
    parsed = pd.to_datetime(text.str.strip(), format="%d %b %Y", errors="coerce")
    days = (parsed - pd.Timestamp("1970-01-01")).dt.days
    return days.fillna(NO_DATE).astype(np.int64)


def _partial(text: str, rng: np.random.Generator) -> str:
    """A history date as the site remembers it: mostly the month, sometimes the year only."""
    u = rng.random()
    if u < 0.5:
        return "UN " + text[3:]
    if u < 0.65:
        return "UN UNK " + text[-4:]
    return text


def _one(days: int) -> str:
    """One day number as ``DD MON YYYY`` (empty for NO_DATE), as ``format_dates`` writes it
    but without its array set-up, which dominated this module's time."""
    if days == NO_DATE:
        return ""
    return (_EPOCH + timedelta(days=int(days))).strftime("%d %b %Y").upper()


def history_forms(
    frames: dict[str, pd.DataFrame], seed: int, cutoff: int
) -> dict[str, pd.DataFrame]:
    """The history forms (DX, MH, PRT, NT, CMED, ECOG, VS) of the subjects of `frames`."""
    rng = np.random.default_rng([seed, STREAM])
    dm, coh = frames["DM"], frames["COH"].set_index("SUBJID")
    asct_day, induction_end_day = _days(coh["ASCTDAT"]).to_dict(), _days(coh["INDENDAT"]).to_dict()
    consent = dict(zip(frames["IC"]["SUBJID"], _days(frames["IC"]["ICDAT"]), strict=True))
    ex = frames["EX"].assign(day=_days(frames["EX"]["EXSTDAT"]))
    c1d1 = ex.groupby("SUBJID")["day"].min().to_dict()
    eot = dict(zip(frames["EOT"]["SUBJID"], _days(frames["EOT"]["EOTDAT"]), strict=True))
    eos = dict(zip(frames["EOS"]["SUBJID"], _days(frames["EOS"]["EOSDAT"]), strict=True))
    lb = frames["LB"]
    ife = lb[(lb["LBTEST"] == "Immunofixation") & lb["LBORRES"].str.strip().str.startswith("Ig")]
    isotype = ife.groupby("SUBJID")["LBORRES"].first().str.strip().to_dict()
    visits = lb.loc[
        lb["VISIT"].str.fullmatch(r"Screening|Cycle \d+ Day 1"), ["SUBJID", "VISIT", "LBDAT"]
    ]
    visits = visits.drop_duplicates(["SUBJID", "VISIT"])
    rs = frames["RS"]
    at_pd = rs["RSORRES"].str.strip() == "PD"
    progressed = set(zip(rs.loc[at_pd, "SUBJID"], rs.loc[at_pd, "VISIT"], strict=True))
    sfu = frames["SFU"]
    started = sfu[sfu["NEWTHER"] == "Yes"].drop_duplicates("SUBJID")
    new_therapy = dict(zip(started["SUBJID"], started["NEWTHDAT"], strict=True))
    ae = frames["AE"].assign(day=_days(frames["AE"]["AESTDAT"]), end=_days(frames["AE"]["AEENDAT"]))
    treated_aes = ae[(ae["day"] != NO_DATE) & ae["AETOXGR"].isin(["3", "4"])
                     & ae["AEDECOD"].isin(["Neutropenia", "Pneumonia"])]  # fmt: skip
    severe: dict[str, list[tuple[str, int, int]]] = {}
    for s, *event in treated_aes[["SUBJID", "AEDECOD", "day", "end"]].itertuples(index=False):
        severe.setdefault(s, []).append(tuple(event))

    rows: dict[str, list[tuple[str, ...]]] = {f: [] for f in ("DX", "MH", "PRT", "NT", "CMED")}
    for subject, sex, age in zip(dm["SUBJID"], dm["SEX"], dm["AGE"].astype(int), strict=True):
        female = str(sex).strip().lower().startswith("f")
        start, first_dose = int(consent[subject]), int(c1d1.get(subject, consent[subject] + 14))
        eligible = str(coh.at[subject, "COHORT"]).strip().lower() == "transplant eligible"
        horizon = min(eos.get(subject, cutoff), cutoff)

        # Prior therapy: induction (and conditioning, ASCT, consolidation) before consent.
        lines: list[tuple[str, Regimen, int, int]] = []
        if eligible:
            asct = int(asct_day[subject])
            regimen = _choose(rng, INDUCTION_TE)
            cycles = int(rng.integers(4, 7))
            induction_end = asct - int(rng.integers(35, 61))
            induction_start = induction_end - cycles * regimen[1] + 1
            lines.append(("Induction", regimen, induction_start, induction_end))
            lines.append(("Conditioning", CONDITIONING, asct - 2, asct - 2))
            if start - asct >= 85 and rng.random() < 0.35:  # ended before consent
                lines.append(("Consolidation", INDUCTION_TE[0][0], asct + 40, asct + 81))
        else:
            end = int(induction_end_day[subject])
            regimen = _choose(rng, INDUCTION_TI)
            more, cycles = int(rng.integers(2, 5)), int(rng.integers(4, 7))
            consolidation_start = end - more * regimen[1] + 1
            induction_end = consolidation_start - int(rng.integers(1, 8))
            induction_start = induction_end - cycles * regimen[1] + 1
            lines.append(("Induction", regimen, induction_start, induction_end))
            lines.append(("Consolidation", regimen, consolidation_start, end))
        diagnosis = induction_start - int(rng.integers(7, 31))
        spid = 0
        for line, (name, _, drugs), first, last in lines:
            for given in drugs:
                spid += 1
                rows["PRT"].append((subject, str(spid), line, name, given, _one(first), _one(last)))
        bortezomib = any(d.strip().lower() in _BORTEZOMIB for _, r, _, _ in lines for d in r[2])

        dx, history, drugs_for = _diagnosis_and_history(
            rng, female, age, diagnosis, induction_start, bortezomib, start
        )
        rows["DX"].append((subject, dx[0], isotype.get(subject, dx[1]), *dx[2:]))
        for i, record in enumerate(history, 1):
            rows["MH"].append((subject, str(i), *record))

        # Concomitant medications: the comorbidities' drugs, thromboprophylaxis from the first
        # dose to the end of treatment, zoledronic acid, and treatment of severe AEs.
        stop = eot.get(subject, NO_DATE)
        meds = [(d, on, NO_DATE) for d, on in drugs_for]
        u = rng.random()
        prophylaxis = _ASPIRIN if u < 0.65 else (_ENOXAPARIN if u < 0.85 else _RIVAROXABAN)
        meds.append((prophylaxis, first_dose - int(rng.integers(0, 3)), stop))
        if rng.random() < 0.6:
            meds.append((_ZOLEDRONIC, first_dose + int(rng.integers(0, 15)), stop))
        for decod, onset, healed in severe.get(subject, []):
            drug = _FILGRASTIM if decod == "Neutropenia" else _LEVOFLOXACIN
            length = int(rng.integers(3, 7) if drug == _FILGRASTIM else rng.integers(7, 15))
            last = int(onset) + length - 1
            meds.append((drug, int(onset), last if healed == NO_DATE else min(int(healed), last)))
        meds.sort(key=lambda m: (m[1], m[0]))
        for i, (drug, on, off) in enumerate(meds, 1):
            if horizon < cutoff and (off == NO_DATE or off > horizon):
                off = horizon  # nothing is known after the end of study
            off = NO_DATE if off > cutoff else off
            trt, indication, dose, unit, frequency, route = _CONMEDS[drug]
            ongoing = "Yes" if off == NO_DATE else "No"
            rows["CMED"].append((subject, str(i), trt, indication, dose, unit, frequency, route,
                                 _one(on), _one(off), ongoing))  # fmt: skip

        # Subsequent therapy: the regimen started on the date the follow-up reports.
        if subject in new_therapy:
            name, _, drugs = _choose(rng, SUBSEQUENT)
            for i, given in enumerate(drugs, 1):
                rows["NT"].append((subject, str(i), name, given, new_therapy[subject]))

    frames_out = {
        "DX": _frame(rows["DX"], _DX_COLUMNS),
        "MH": _frame(rows["MH"], _MH_COLUMNS),
        "PRT": _frame(rows["PRT"], ["SUBJID", "PTSPID", "PTLINE", "PTREG", "PTDRUG", "PTSTDAT",
                                    "PTENDAT"]),
        "NT": _frame(rows["NT"], ["SUBJID", "NTSPID", "NTREG", "NTDRUG", "NTSTDAT"]),
        "CMED": _frame(rows["CMED"], ["SUBJID", "CMSPID", "CMTRT", "CMINDC", "CMDOSE", "CMDOSU",
                                      "CMDOSFRQ", "CMROUTE", "CMSTDAT", "CMENDAT", "CMONGO"]),
    }  # fmt: skip
    frames_out.update(_visit_forms(rng, dm, visits, progressed, frames_out["MH"]))
    return frames_out


def _diagnosis_and_history(
    rng: np.random.Generator, female: bool, age: int, diagnosis: int, induction_start: int,
    bortezomib: bool, consent: int,
) -> tuple[tuple[str, ...], list[tuple[str, ...]], list[tuple[int, int]]]:  # fmt: skip
    """One subject's DX values (DXDAT, isotype drawn, ISS, R-ISS), MH records and the
    comorbidities' drugs (conmed index, start day), in the draws' fixed order."""
    heavy = "IgG" if rng.random() < 0.7 else "IgA"
    light = " kappa" if rng.random() < 0.65 else " lambda"
    iss = int(rng.choice(3, p=[0.30, 0.35, 0.35]))
    high_ldh = rng.random() < 0.15
    riss = 0 if iss == 0 and not high_ldh else (2 if iss == 2 and high_ldh else 1)
    roman = ("I", "II", "III")
    dx = (_one(diagnosis), heavy + light, roman[iss], roman[riss])

    # Medical history: comorbidities, bone disease, neuropathy, prior malignancy.
    history: list[tuple[str, ...]] = []
    drugs_for: list[tuple[int, int]] = []  # (conmed index, start day)
    for term, pt, soc, prevalence, medication in _HISTORY:
        if rng.random() < prevalence * (1.3 if age >= 65 else 0.8):
            onset = diagnosis - int(rng.integers(365, 15 * 365))
            history.append(("Medical history", term, pt, soc, _partial(_one(onset), rng),
                            "", "Yes", ""))  # fmt: skip
            if medication >= 0:
                drugs_for.append((medication, onset + int(rng.integers(0, 60))))
    if rng.random() < 0.25:
        fracture = diagnosis - int(rng.integers(0, 30))
        history.append(("Medical history", *_FRACTURE, _one(fracture), "", "Yes", ""))
    if bortezomib and rng.random() < 0.35:
        onset = induction_start + int(rng.integers(40, 100))
        grade = "1" if rng.random() < 0.7 else "2"
        resolved = rng.random() < 0.3 and onset + 120 < consent
        ended = _partial(_one(onset + 120), rng) if resolved else ""
        history.append(("Medical history", *_NEUROPATHY, _one(onset), ended,
                        "No" if resolved else "Yes", "" if resolved else grade))  # fmt: skip
    if rng.random() < 0.05:
        term, pt = _PRIOR_CANCERS[int(rng.integers(0, 3 if female else 2))]
        onset = diagnosis - int(rng.integers(5 * 365, 15 * 365))
        began = _partial(_one(onset), rng)  # drawn before the end, as ever
        ended = _partial(_one(onset + int(rng.integers(30, 200))), rng)
        history.append(("Prior malignancy", term, pt, _NEOPLASMS, began, ended, "No", ""))
    return dx, history, drugs_for


def screening_history(
    rng: np.random.Generator, dm: pd.DataFrame, consent: np.ndarray, screening: np.ndarray
) -> dict[str, pd.DataFrame]:
    """DX, MH, ECOG and VS of screen failures (`dm`'s subjects): what their screening visit
    (day numbers `screening`; consent `consent`) collected, nothing later. Myeloma was
    diagnosed 8 to 18 months before consent, induction (bortezomib-based for most) began a
    week to a month later."""
    rows: dict[str, list[tuple[str, ...]]] = {"DX": [], "MH": []}
    for subject, sex, age, signed in zip(
        dm["SUBJID"], dm["SEX"], dm["AGE"].astype(int), consent, strict=True
    ):
        female = str(sex).strip().lower().startswith("f")
        diagnosis = int(signed) - int(rng.integers(240, 541))
        induction_start = diagnosis + int(rng.integers(7, 31))
        bortezomib = bool(rng.random() < 0.8)
        dx, history, _ = _diagnosis_and_history(
            rng, female, int(age), diagnosis, induction_start, bortezomib, int(signed)
        )
        rows["DX"].append((subject, *dx))
        for i, record in enumerate(history, 1):
            rows["MH"].append((subject, str(i), *record))
    mh = _frame(rows["MH"], _MH_COLUMNS)
    visits = pd.DataFrame({"SUBJID": dm["SUBJID"].to_numpy(), "VISIT": "Screening",
                           "LBDAT": [_one(int(d)) for d in screening]})  # fmt: skip
    return {
        "DX": _frame(rows["DX"], _DX_COLUMNS),
        "MH": mh,
        **_visit_forms(rng, dm, visits, set(), mh),
    }


def _visit_forms(
    rng: np.random.Generator, dm: pd.DataFrame, visits: pd.DataFrame,
    progressed: set[tuple[str, object]], mh: pd.DataFrame,
) -> dict[str, pd.DataFrame]:  # fmt: skip
    """ECOG and vital signs at each screening and cycle day 1 visit (vectorised)."""
    subjects = dm["SUBJID"].to_numpy()
    n = len(subjects)
    female = dm["SEX"].str.strip().str.lower().str.startswith("f").to_numpy()
    hypertensive = np.isin(subjects, mh.loc[mh["MHDECOD"] == "Hypertension", "SUBJID"])
    height = np.where(female, rng.normal(157, 5, n), rng.normal(168, 6, n))
    weight = np.clip(rng.normal(23.0, 2.8, n), 17.5, 32) * (height / 100) ** 2
    sbp0 = rng.normal(124, 10, n) + 10 * hypertensive
    dbp0, pulse0 = rng.normal(77, 7, n), rng.normal(76, 8, n)
    ecog0 = rng.choice(4, size=n, p=[0.40, 0.42, 0.15, 0.03])

    at = pd.Index(subjects).get_indexer(visits["SUBJID"])
    nv = len(visits)
    screening = (visits["VISIT"] == "Screening").to_numpy()
    number = np.where(
        screening, 0, visits["VISIT"].str.extract(r"(\d+)")[0].fillna("0").astype(int)
    )
    # ECOG drifts by a grade now and then, and worsens at progression (never below 0).
    step = rng.choice([-1, 0, 1], size=nv, p=[0.05, 0.88, 0.07])
    step[screening] = 0
    drift = pd.Series(step).groupby(at).cumsum().to_numpy()
    pd_visit = np.array([(s, v) in progressed for s, v in zip(visits["SUBJID"], visits["VISIT"],
                                                              strict=True)])  # fmt: skip
    ecog = np.clip(ecog0[at] + np.clip(drift, -1, 1) + pd_visit, 0, 4)
    ecog[screening] = ecog0[at][screening]

    def whole(x: np.ndarray) -> np.ndarray:
        return np.rint(x).astype(np.int64).astype(str).astype(object)

    weight_v = weight[at] * (1 - 0.0015 * number) * np.exp(rng.normal(0, 0.012, nv))
    temp = np.clip(rng.normal(36.6, 0.22, nv), 36.0, 37.4)
    pulse_unit = np.where(rng.random(nv) < 0.1, "bpm", "beats/min").astype(object)
    base = {"SUBJID": visits["SUBJID"].to_numpy(), "VISIT": visits["VISIT"].to_numpy()}
    return {
        "ECOG": text_frame({**base, "ECOGDAT": visits["LBDAT"].to_numpy(),
                          "ECOGSC": ecog.astype(str).astype(object)}),
        "VS": text_frame({
            **base, "VSDAT": visits["LBDAT"].to_numpy(),
            "SYSBP": whole(sbp0[at] + rng.normal(0, 8, nv)),
            "DIABP": whole(dbp0[at] + rng.normal(0, 5, nv)), "BPU": np.full(nv, "mmHg"),
            "PULSE": whole(pulse0[at] + rng.normal(0, 6, nv)), "PULSEU": pulse_unit,
            "TEMP": np.char.mod("%.1f", temp).astype(object), "TEMPU": np.full(nv, "C"),
            "WEIGHT": np.char.mod("%.1f", weight_v).astype(object), "WEIGHTU": np.full(nv, "kg"),
            "HEIGHT": np.where(screening, whole(height[at]), "").astype(object),
            "HEIGHTU": np.where(screening, "cm", "").astype(object),
        }),
    }  # fmt: skip


def _frame(rows: list[tuple[str, ...]], columns: list[str]) -> pd.DataFrame:
    return text_frame({c: [r[i] for r in rows] for i, c in enumerate(columns)})
