"""POMMAINT screening: the screened subjects who failed eligibility, and the screening-only
forms of every screened subject (serology, cytogenetics at diagnosis, childbearing potential,
pregnancy tests).

Everything here is drawn from the child random stream ``default_rng([seed, 18])`` (issue 18;
the history forms seed a generator of their own from the same stream, see ``STREAM``), after
the enrolled subjects' forms are complete, and reads those forms only: the enrolled subjects'
values in the existing forms stay exactly what they were, and the screen failures are extra
rows at the end of DM, IC, LB, DX, MH, ECOG and VS.

- Screen failures: ``round(0.2 * N)`` extra screened subjects for N enrolled (about 17 % of
  those screened fail), numbered ``2`` + the enrolled subjects' digits (``2001``...; a study
  generated in blocks numbers each block's on from the previous blocks'), each
  failing one named criterion of the protocol (IC.ELIGYN "No", IC.IENOTMET its code as the
  EDC lists it, e.g. "INCL06", IC.SFDAT the day eligibility was found not met), with
  screening values that show it: a platelet count <= 75 or neutrophils <= 1.0 x10^9/L
  (INCL06), creatinine >= 177 umol/L (INCL05), ALT >= 3 x ULN or bilirubin > 35 umol/L
  (INCL04), a positive serum pregnancy test (INCL07, a woman of childbearing potential), a
  high-risk abnormality at diagnosis (EXCL01), HBsAg (EXCL05), HCV RNA (EXCL06) or HIV
  antigen/antibody (EXCL07) positive. They have DM, IC, the screening haematology and
  chemistry of LB, SER, CYTO, CBP (women) and PREG (women of childbearing potential), and
  what the screening visit collected before the failed criterion was found (from a stream of
  their own, ``[seed, 183]``): DX (diagnosis date, isotype, ISS/R-ISS), MH, ECOG and vital
  signs at the screening visit (``pommaint_history.screening_history``); no COH, EX or later
  forms. Enrolled subjects: IC.ELIGYN "Yes", IENOTMET and SFDAT empty.
- SER (one row per screened subject, at screening): HBSAG, HBCAB (anti-HBc; resolved
  hepatitis B is common and not an exclusion), HCVAB, HCVRNA (only when HCVAB is positive),
  HIVAGAB: "Negative" / "Positive".
- CYTO (one row per screened subject): FISH on the diagnostic marrow (before consent) for
  DEL17P, GAIN1Q21, T0414, T1416, T1420, T1114 and TP53 mutation by sequencing: "Not
  detected" / "Detected", a few TP53 "" (not done: TP53ND "Not done").
- CBP (one row per woman): CHILDPOT "Yes" / "No" at the screening visit.
- PREG (women of childbearing potential): a serum hCG test at screening and a urine test at
  every Cycle N Day 1 visit (the protocol's monthly test): "Negative" / "Positive".
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from samplegen.blocks import Block
from samplegen.pommaint import FIRST_CONSENT, LAST_CONSENT, SITE, format_dates
from samplegen.pommaint_history import screening_history

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.object_]

# The child stream of these draws: default_rng([seed, STREAM]). The history forms
# (pommaint_history.STREAM) seed their generator from the same [seed, 18]: the two were
# drawn that way when the forms were added, and giving screening a stream of its own would
# change every screening value of the sample (DM, IC, LB screening, SER, CYTO, CBP, PREG of
# the enrolled subjects) and every test and golden pinned to them, so they are not split.
STREAM: Final = 18
# The screen failures' diagnosis, medical history, ECOG and vital signs: a stream of their own.
HISTORY_STREAM: Final = 183
SHARE: Final = 0.2  # screen failures per enrolled subject
# The criterion a screen failure fails, with its share among screen failures (cumulative
# bounds, in this order: stratified draws give a small study a spread of them).
FAILURES: Final = (
    ("EXCL01", 0.30), ("INCL06", 0.50), ("INCL05", 0.62), ("EXCL05", 0.74),
    ("INCL04", 0.84), ("EXCL06", 0.91), ("EXCL07", 0.96), ("INCL07", 1.0),
)  # fmt: skip
# Cytogenetic abnormalities of the FISH panel (EXCL01), and TP53 mutation by sequencing.
CYTOGENETICS: Final = ("DEL17P", "GAIN1Q21", "T0414", "T1416", "T1420", "T1114", "TP53")
_HIGH_RISK_SHARE: Final = (0.30, 0.40, 0.15, 0.04, 0.01, 0.06, 0.04)  # of EXCL01 failures
SEROLOGY: Final = ("HBSAG", "HBCAB", "HCVAB", "HCVRNA", "HIVAGAB")
# Screening haematology and chemistry of a screen failure, in LB's order: (LBTEST, LBCAT,
# LBSPEC, unit, low, high); the normal ranges are the site lab's (men's, women's).
_LABS: Final = (
    ("ANC", "Hematology", "Blood", "10^9/L", ("2.0", "2.0"), ("7.0", "7.0")),
    ("Platelets", "Hematology", "Blood", "10^9/L", ("125", "125"), ("350", "350")),
    ("Hemoglobin", "Hematology", "Blood", "g/L", ("130", "115"), ("175", "150")),
    ("WBC", "Hematology", "Blood", "10^9/L", ("3.5", "3.5"), ("9.5", "9.5")),
    ("Creatinine", "Chemistry", "Serum", "umol/L", ("57", "41"), ("111", "81")),
    ("Total bilirubin", "Chemistry", "Serum", "umol/L", ("3.4", "3.4"), ("20.5", "20.5")),
    ("ALT", "Chemistry", "Serum", "U/L", ("9", "7"), ("50", "40")),
    ("AST", "Chemistry", "Serum", "U/L", ("15", "13"), ("40", "35")),
    ("LDH", "Chemistry", "Serum", "U/L", ("120", "120"), ("250", "250")),
    ("Calcium", "Chemistry", "Serum", "mmol/L", ("2.11", "2.11"), ("2.52", "2.52")),
    ("Albumin", "Chemistry", "Serum", "g/L", ("40", "40"), ("55", "55")),
    ("Beta-2 microglobulin", "Chemistry", "Serum", "mg/L", ("1.0", "1.0"), ("3.0", "3.0")),
)
_DECIMALS: Final = (1, 0, 0, 1, 0, 1, 0, 0, 0, 2, 0, 1)
_CREATININE_SI: Final = 500  # days after the site opened: creatinine in umol/L from then


def _text(values: npt.ArrayLike, decimals: int) -> StrArray:
    """Numbers as fixed-decimal text."""
    return np.array([f"{v:.{decimals}f}" for v in np.asarray(values, dtype=float)], dtype=object)


def _days(text: pd.Series) -> IntArray:
    """Complete ``DD MON YYYY`` dates as day numbers."""
    stamps = pd.to_datetime(text.str.title(), format="%d %b %Y")
    return np.asarray((stamps - pd.Timestamp(1970, 1, 1)).dt.days, dtype=np.int64)


def _frame(columns: dict[str, object]) -> pd.DataFrame:
    n = len(next(iter(columns.values())))  # type: ignore[arg-type]
    return pd.DataFrame({"SITEID": [SITE] * n, **columns}, dtype="str")


def add_screening(
    frames: dict[str, pd.DataFrame], part: Block, seed: int, cutoff: int
) -> dict[str, pd.DataFrame]:
    """The forms of the subjects of block `part` (of the study's enrolled subjects) with
    their screen failures added, and the screening-only forms (see above). The screen
    failures are numbered on from the previous blocks' (``round(SHARE * N)`` for the whole
    study)."""
    rng = np.random.default_rng([seed, STREAM])
    dm, ic, lb = frames["DM"], frames["IC"], frames["LB"]
    before = round(SHARE * part.first)
    n_fail = round(SHARE * (part.first + part.size)) - before
    width = len(str(dm["SUBJID"].iloc[0])) - 1
    fail_ids = np.array(
        [f"2{i:0{width}d}" for i in range(before + 1, before + n_fail + 1)], dtype=object
    )

    # The screen failures: consent within the enrolment window, demographics, the criterion.
    start = cutoff - FIRST_CONSENT
    consent = np.sort(start + rng.integers(0, FIRST_CONSENT - LAST_CONSENT, n_fail))
    age = np.clip(np.rint(rng.normal(64, 9, n_fail)), 38, 80).astype(np.int64)
    female = rng.random(n_fail) < 0.45
    bounds = np.array([b for _, b in FAILURES])
    strata = (rng.permutation(n_fail) + rng.random(n_fail)) / max(n_fail, 1)
    criterion = np.array([c for c, _ in FAILURES], dtype=object)[np.searchsorted(bounds, strata)]
    # INCL07 (a positive pregnancy test) needs a young woman; so the subject is one.
    pregnant = criterion == "INCL07"
    female |= pregnant
    age = np.where(pregnant, rng.integers(30, 45, n_fail), age)
    screening = consent + rng.integers(0, 4, n_fail)
    failed_on = screening + rng.integers(3, 15, n_fail)
    birth = consent - np.floor((age + rng.random(n_fail)) * 365.25).astype(np.int64)
    born, signed = pd.to_datetime(birth, unit="D"), pd.to_datetime(consent, unit="D")
    before_birthday = (signed.month * 100 + signed.day) < (born.month * 100 + born.day)
    years = signed.year - born.year - before_birthday.astype(np.int64)
    fail_dm = _frame(
        {"SUBJID": fail_ids, "BRTHDAT": format_dates(birth),
         "AGE": np.asarray(years, dtype=np.int64).astype(str),
         "SEX": np.where(female, "Female", "Male"), "RACE": ["Asian"] * n_fail,
         "RACEOTH": [""] * n_fail, "ETHNIC": ["Not Hispanic or Latino"] * n_fail,
         "COUNTRY": ["China"] * n_fail, "DMDAT": format_dates(consent)}
    )  # fmt: skip
    amendment = cutoff - FIRST_CONSENT + 300  # protocol amendment 1.1, as in pommaint
    fail_ic = _frame(
        {"SUBJID": fail_ids, "ICDAT": format_dates(consent),
         "ICVER": np.where(consent >= amendment, "1.1", "1.0"), "ELIGYN": ["No"] * n_fail,
         "IENOTMET": criterion, "SFDAT": format_dates(failed_on)}
    )  # fmt: skip

    # Every screened subject: enrolled first (in their order), then the screen failures.
    ids = np.concatenate([dm["SUBJID"].to_numpy(dtype=object), fail_ids])
    sex = np.concatenate([dm["SEX"].str.strip().str.lower().to_numpy() == "female", female])
    ages = np.concatenate([pd.to_numeric(dm["AGE"]).to_numpy(dtype=np.int64), age])
    consents = np.concatenate([_days(ic["ICDAT"]), consent])
    lb_screen = lb[lb["VISIT"] == "Screening"].drop_duplicates("SUBJID")
    enrolled_screen = pd.Series(_days(lb_screen["LBDAT"]), index=lb_screen["SUBJID"].to_numpy())
    enrolled_days = enrolled_screen.reindex(dm["SUBJID"]).to_numpy(np.float64)
    enrolled_days = np.where(np.isnan(enrolled_days), consents[: len(dm)], enrolled_days)
    screen_days = np.concatenate([enrolled_days.astype(np.int64), screening])
    fails = np.concatenate([np.full(len(dm), "", dtype=object), criterion])
    n = ids.size
    ser = _serology(rng, ids, screen_days, fails)
    cyto = _cytogenetics(rng, ids, consents, fails)
    # Childbearing potential until menopause (age at menopause about 50 +/- 4 years).
    childpot = sex & (ages < rng.normal(50, 4, n))
    childpot |= fails == "INCL07"
    cbp = _frame({"SUBJID": ids[sex], "CBPDAT": format_dates(screen_days[sex]),
                  "CHILDPOT": np.where(childpot[sex], "Yes", "No")})  # fmt: skip
    preg = _pregnancy(ids, screen_days, childpot, fails, lb)
    fail_lb = _screening_labs(rng, fail_ids, screening, female, criterion, cutoff)
    enrolled_ic = ic.assign(SFDAT="")
    history = screening_history(
        np.random.default_rng([seed, HISTORY_STREAM]), fail_dm, consent, screening
    )
    return {
        **frames,
        **{f: pd.concat([frames[f], history[f]], ignore_index=True) for f in history},
        "DM": pd.concat([dm, fail_dm], ignore_index=True),
        "IC": pd.concat([enrolled_ic, fail_ic], ignore_index=True),
        "LB": pd.concat([lb, fail_lb], ignore_index=True),
        "SER": ser,
        "CYTO": cyto,
        "CBP": cbp,
        "PREG": preg,
    }


def _serology(
    rng: np.random.Generator, ids: StrArray, when: IntArray, fails: StrArray
) -> pd.DataFrame:
    n = ids.size
    hbsag = fails == "EXCL05"
    hbcab = hbsag | (rng.random(n) < 0.3)  # resolved hepatitis B: anti-HBc alone
    hcvrna = fails == "EXCL06"
    hcvab = hcvrna | (rng.random(n) < 0.02)  # cleared infection: antibody, no RNA
    hiv = fails == "EXCL07"

    def result(flag: BoolArray) -> StrArray:
        return np.where(flag, "Positive", "Negative").astype(object)

    return _frame(
        {"SUBJID": ids, "SERDAT": format_dates(when), "HBSAG": result(hbsag),
         "HBCAB": result(hbcab), "HCVAB": result(hcvab),
         "HCVRNA": np.where(hcvab, result(hcvrna), ""), "HIVAGAB": result(hiv)}
    )  # fmt: skip


def _cytogenetics(
    rng: np.random.Generator, ids: StrArray, consent: IntArray, fails: StrArray
) -> pd.DataFrame:
    n = ids.size
    found = np.zeros((n, len(CYTOGENETICS)), dtype=bool)
    high_risk = np.flatnonzero(fails == "EXCL01")
    which = rng.choice(len(CYTOGENETICS), size=high_risk.size, p=_HIGH_RISK_SHARE)
    found[high_risk, which] = True
    results = np.where(found, "Detected", "Not detected").astype(object)
    tp53_done = rng.random(n) >= 0.1
    tp53_done[high_risk[which == len(CYTOGENETICS) - 1]] = True
    results[~tp53_done, -1] = ""
    diagnosis = consent - rng.integers(30, 240, n)
    columns: dict[str, object] = {"SUBJID": ids, "CYDAT": format_dates(diagnosis)}
    columns.update({name: results[:, i] for i, name in enumerate(CYTOGENETICS)})
    columns["TP53ND"] = np.where(tp53_done, "", "Not done")
    return _frame(columns)


def _pregnancy(
    ids: StrArray, screening: IntArray, childpot: BoolArray, fails: StrArray, lb: pd.DataFrame
) -> pd.DataFrame:
    """Serum hCG at screening, urine hCG at every cycle's Day 1 visit (from LB's visits)."""
    women = pd.DataFrame({"SUBJID": ids[childpot], "day": screening[childpot],
                          "fail": fails[childpot]})  # fmt: skip
    first = women.assign(
        VISIT="Screening",
        PGSPEC="Serum",
        PGRES=np.where(women["fail"] == "INCL07", "Positive", "Negative"),
    )
    cycles = lb.loc[lb["SUBJID"].isin(women["SUBJID"]) & lb["VISIT"].str.startswith("Cycle"),
                    ["SUBJID", "VISIT", "LBDAT"]].drop_duplicates(["SUBJID", "VISIT"])  # fmt: skip
    monthly = pd.DataFrame(
        {
            "SUBJID": cycles["SUBJID"],
            "day": _days(cycles["LBDAT"]),
            "VISIT": cycles["VISIT"],
            "PGSPEC": "Urine",
            "PGRES": "Negative",
        }
    )
    rows = pd.concat([first.drop(columns="fail"), monthly], ignore_index=True)
    rows = rows.sort_values(["SUBJID", "day"], kind="stable")
    return _frame(
        {"SUBJID": rows["SUBJID"].to_numpy(), "VISIT": rows["VISIT"].to_numpy(),
         "PGDAT": format_dates(rows["day"].to_numpy(np.int64)),
         "PGSPEC": rows["PGSPEC"].to_numpy(), "PGRES": rows["PGRES"].to_numpy()}
    )  # fmt: skip


def _screening_labs(
    rng: np.random.Generator, ids: StrArray, when: IntArray, female: BoolArray,
    criterion: StrArray, cutoff: int,
) -> pd.DataFrame:  # fmt: skip
    """Screening haematology and chemistry of the screen failures, in SI units, normal
    unless the failed criterion is a laboratory one (then the value shows it)."""
    n = ids.size
    values = np.column_stack([
        rng.normal(3.2, 0.8, n).clip(1.6, 8), rng.normal(190, 45, n).clip(110, 380),
        np.where(female, rng.normal(118, 10, n), rng.normal(128, 12, n)).clip(95, 165),
        rng.normal(5.6, 1.2, n).clip(3.6, 9.4),
        np.where(female, 0.85, 1.0) * np.exp(rng.normal(np.log(80), 0.2, n)),
        np.exp(rng.normal(np.log(10), 0.3, n)), np.exp(rng.normal(np.log(22), 0.35, n)),
        np.exp(rng.normal(np.log(24), 0.3, n)), np.exp(rng.normal(np.log(180), 0.15, n)),
        rng.normal(2.3, 0.1, n), rng.normal(39, 4, n), np.exp(rng.normal(1.0, 0.4, n)),
    ])  # fmt: skip
    cytopenia = criterion == "INCL06"
    low_platelets = cytopenia & (rng.random(n) < 0.7)
    values[low_platelets, 1] = rng.uniform(35, 75, n)[low_platelets]
    values[cytopenia & ~low_platelets, 0] = rng.uniform(0.5, 1.0, n)[cytopenia & ~low_platelets]
    values[criterion == "INCL05", 4] = rng.uniform(180, 320, n)[criterion == "INCL05"]
    liver = criterion == "INCL04"
    uln_alt = np.where(female, 40, 50)
    values[liver, 6] = (uln_alt * rng.uniform(3.2, 6.0, n))[liver]
    values[liver, 7] = (np.where(female, 35, 40) * rng.uniform(2.0, 4.0, n))[liver]
    values[liver, 5] = np.where(rng.random(n) < 0.5, rng.uniform(36, 60, n), values[:, 5])[liver]
    k = len(_LABS)
    sex = female.astype(np.int64)
    table = np.array(_LABS, dtype=object)
    results = np.concatenate(
        [[_text([v], d)[0] for v, d in zip(row, _DECIMALS, strict=True)] for row in values]
    ) if n else np.empty(0, dtype=object)  # fmt: skip
    units = np.tile(table[:, 3], n).astype(object)
    low = np.array([lab[4][s] for s in sex for lab in _LABS], dtype=object)
    high = np.array([lab[5][s] for s in sex for lab in _LABS], dtype=object)
    # Creatinine in mg/dL before the lab's switch to umol/L (as for the enrolled subjects).
    conventional = np.flatnonzero(np.repeat(when < cutoff - FIRST_CONSENT + _CREATININE_SI, k)
                                  & (np.tile(table[:, 0], n) == "Creatinine"))  # fmt: skip
    results[conventional] = _text(values[conventional // k, 4] / 88.4, 2)
    units[conventional] = "mg/dL"
    low[conventional] = np.where(female[conventional // k], "0.46", "0.64")
    high[conventional] = np.where(female[conventional // k], "0.92", "1.26")
    return _frame(
        {"SUBJID": np.repeat(ids, k), "VISIT": ["Screening"] * (n * k),
         "LBDAT": np.repeat(format_dates(when), k), "LBCAT": np.tile(table[:, 1], n),
         "LBTEST": np.tile(table[:, 0], n), "LBSPEC": np.tile(table[:, 2], n),
         "LBMETHOD": [""] * (n * k),
         "LBORRES": results, "LBORRESU": units, "LBORNRLO": low, "LBORNRHI": high,
         "LBND": [""] * (n * k), "LBREASND": [""] * (n * k)}
    )  # fmt: skip
