"""Synthetic, seeded EDC data for POMMAINT (pomalidomide maintenance in newly diagnosed MM).

Single centre (SITEID "01"), subjects "1001".."10NN" (one more digit per power of ten beyond
999 subjects, so the numbers stay fixed-width, unique and sortable). Pomalidomide 2 mg QD on
days 1-21 of 28-day cycles, up to 39 cycles, in two cohorts: transplant eligible (maintenance
~3 months after ASCT) and transplant ineligible (after induction/consolidation). The first
subject consents ~3.1 years before the data cut-off, the last ~14 months before it.

Every value is text. Missing is the empty string. Dates are ``DD MON YYYY`` (``05 JAN 2025``);
partial dates use ``UN`` for an unknown day and ``UNK`` for an unknown month (``UN JAN 2025``,
``UN UNK 1958``) and occur only in DM.BRTHDAT, AE.AESTDAT, AE.AEENDAT and SFU.NEWTHDAT (and in
the history forms of ``pommaint_history``: MH.MHSTDAT, MH.MHENDAT, NT.NTSTDAT).
Nothing is dated after the cut-off.

Raw value sets (exact spellings, including the deliberate mess):

- DM.SEX: "Male", "Female", "male", "FEMALE " (trailing space)
- DM.RACE: "Asian", "Other"; DM.RACEOTH: "Hui Chinese", "Uyghur" (only with RACE "Other")
- DM.ETHNIC: "Not Hispanic or Latino"; DM.COUNTRY: "China"
- IC.ICVER: "1.0", "1.1"; IC.ELIGYN: "Yes" (enrolled), "No" (screen failures, see
  ``pommaint_screening``); IC.IENOTMET, IC.SFDAT: empty unless ELIGYN is "No"
- COH.COHORT: "Transplant eligible", "Transplant ineligible", "transplant eligible"
- COH.TRNSINRS: "Age > 65 years", "Comorbidities", "Patient preference" (ineligible only)
- EX.EXDOSE: "2", "1"; EX.EXDOSEU: "mg", "MG"
- EX.EXACN: "", "Drug interrupted", "Dose reduced"; EX.EXADJ: "", "Adverse event",
  "Neutropenia". EXENDAT is empty for the interval still being taken at the cut-off.
- AE.AETERM: see ``AE_TERMS`` (verbatim, several per preferred term); AELLT..AESOCCD are
  MedDRA names and 8-digit codes, constant per verbatim term.
- AE.AETOXGR: "1", "2", "3", "4", "5"
- AE.AESER: "Yes", "No"; AESDTH, AESLIFE, AESHOSP, AESDISAB, AESCONG, AESMIE: "Yes"/"No"
  when AESER is "Yes", empty when it is "No"
- AE.AEREL: "Related", "Possibly related", "Unlikely related", "Not related"
- AE.AEACN: "Dose not changed", "Drug interrupted", "Dose reduced", "Drug withdrawn",
  "Not applicable" (before the first or after the last dose)
- AE.AEOUT: "Recovered/resolved", "Recovering/resolving", "Not recovered/not resolved",
  "Recovered/resolved with sequelae", "Fatal", "Unknown"; AE.AEONGO: "Yes" (AEENDAT
  empty), "No"
- LB.VISIT (also RS.VISIT, MRD.VISIT): "Screening", "Cycle N Day 1" (N = 1..39),
  "Unscheduled" (haematology only, at the onset of a haematological AE)
- LB.LBCAT: "Hematology", "Chemistry", "Disease assessment"
- LB.LBTEST / LBSPEC / LBMETHOD / units: see ``LAB_TESTS`` and ``_lab_values``; units
  "10^9/L", "g/dL", "g/L", "mg/dL", "umol/L", "U/L", "mmol/L", "mg/L", "%", "" (ratio and
  immunofixation). Creatinine is in "mg/dL" before the lab's switch date and "umol/L" after
  it; haemoglobin, bilirubin, calcium and albumin units vary by subject. Normal ranges are in
  the unit of the result (empty for M-protein, immunofixation and BM plasma cells).
- LB.LBORRES: numbers as text, "<0.05" (M-protein below detection), for immunofixation
  the isotype of the monoclonal protein ("IgG kappa", "IgG lambda", "IgA kappa", "IgA
  lambda": the subject's heavy and light chain) or "Negative", a few with a trailing space,
  empty when not done
- LB.LBND: "", "Not done"; LB.LBREASND: "Sample not collected" (whole disease panel),
  "Sample haemolysed", "Sample clotted", "Insufficient sample"
- RS.RSORRES: "sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE", plus lower-case
  ("vgpr", "cr", "scr", "pr", ...) and trailing-space ("CR ", "PR ", ...) variants, empty
  when not done; RS.RSND: "", "Not done"; RS.RSREASND: "", "Assessment not performed"
- MRD.MRDMETH: "NGS", "Flow cytometry"; MRD.MRDSENS: "10^-5"; MRD.MRDRES: "Negative",
  "Positive"
- EOT.EOTREAS: "Progressive disease", "Adverse event", "Completed treatment", "Death",
  "Withdrawal by subject", "Physician decision"
- EOS.EOSSTAT: "Discontinued", "Death" (a subject who completed treatment is followed for
    survival and disease until the cut-off like the others); EOS.EOSREAS: "Death",
  "Withdrawal by subject", "Lost to follow-up"; EOS.DTHCAUS: "Progressive disease",
  "Pneumonia"
- SFU.SFUSTAT: "Alive", "Dead" (SFUDAT = DTHDAT on the "Dead" contact); SFU.NEWTHER: "Yes",
  "No" (once "Yes", later contacts repeat "Yes" and the same NEWTHDAT)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from samplegen.blocks import Block, block_seed

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.object_]

STUDY: Final = "POMMAINT"
DESCRIPTION: Final = (
    "Pomalidomide maintenance therapy in newly diagnosed multiple myeloma: an "
    "investigator-initiated, single-centre, single-arm, prospective study"
)
SITE: Final = "01"
CYCLE_DAYS: Final = 28
DOSING_DAYS: Final = 21
MAX_CYCLES: Final = 39
# The survival follow-up of the subjects who completed treatment: a child stream of its own.
FOLLOW_UP_STREAM: Final = 184
NO_DATE: Final = -(10**6)  # a missing date, in days since 1970-01-01
# Enrolment window (days before the cut-off) and site events (days after its opening).
FIRST_CONSENT: Final = 1133
LAST_CONSENT: Final = 425
_PROTOCOL_V11: Final = 300  # protocol amendment 1.1 approved
_CREATININE_SI: Final = 500  # the lab reports creatinine in umol/L from then on
_EPOCH: Final = date(1970, 1, 1)
_MONTHS: Final = (
    *("JAN", "FEB", "MAR", "APR", "MAY", "JUN"),
    *("JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
)

# IMWG response, worst to best; PD is handled as its own state.
RESPONSES: Final = ("SD", "MR", "PR", "VGPR", "CR", "sCR", "PD")
_VGPR, _CR, _PD = 3, 4, 6
_DEEPEN: Final = (0.03, 0.05, 0.06, 0.04, 0.04, 0.0)  # per-cycle chance to improve one level

# End-of-treatment kinds.
_PROG, _FATAL, _AEDISC, _WITHDRAW, _PHYSICIAN, _COMPLETED, _ONGOING = range(7)
_EOT_REASON: Final = {
    _PROG: "Progressive disease",
    _FATAL: "Death",
    _AEDISC: "Adverse event",
    _WITHDRAW: "Withdrawal by subject",
    _PHYSICIAN: "Physician decision",
    _COMPLETED: "Completed treatment",
}


@dataclass(frozen=True)
class AETerm:
    """One MedDRA preferred term with its hierarchy and how often and how badly it occurs."""

    verbatims: tuple[tuple[str, str, int], ...]  # (AETERM, LLT name, LLT code)
    pt: str
    ptcd: int
    hlt: str
    hltcd: int
    hlgt: str
    hlgtcd: int
    soc: str
    soccd: int
    rate: float  # events per 28-day cycle on treatment
    grades: tuple[float, float, float, float]  # P(grade 1..4)
    days: tuple[int, int]  # duration range
    related: tuple[str, ...]
    lab: str = ""  # haematology test the AE shows in ("ANC", "Platelets", "Hemoglobin")


_BLOOD = ("Blood and lymphatic system disorders", 10005329)
_INFECT = ("Infections and infestations", 10021881)
_INF_NEC = ("Infections - pathogen unspecified", 10021879)

AE_TERMS: Final = (
    AETerm(
        (("neutropenia", "Neutropenia", 10029354), ("Neutropenia", "Neutropenia", 10029354)),
        *("Neutropenia", 10029354, "Neutropenias", 10029366),
        *("White blood cell disorders", 10047954, *_BLOOD),
        0.06, (0.15, 0.35, 0.40, 0.10), (5, 21), ("Related", "Related", "Possibly related"),
        "ANC",
    ),
    AETerm(
        (("Low platelets", "Thrombocytopenia", 10043554),
         ("Thrombocytopenia", "Thrombocytopenia", 10043554)),
        *("Thrombocytopenia", 10043554, "Thrombocytopenias", 10043555),
        *("Platelet disorders", 10035534, *_BLOOD),
        0.025, (0.40, 0.35, 0.20, 0.05), (7, 28), ("Related", "Possibly related"),
        "Platelets",
    ),
    AETerm(
        (("anemia", "Anemia", 10002272), ("Anaemia", "Anaemia", 10002034)),
        *("Anaemia", 10002034, "Anaemias NEC", 10002086),
        *("Anaemias nonhaemolytic and marrow depression", 10002042, *_BLOOD),
        0.03, (0.45, 0.40, 0.15, 0.0), (14, 60), ("Possibly related", "Unlikely related"),
        "Hemoglobin",
    ),
    AETerm(
        (("Pneumonia", "Pneumonia", 10035664), ("pneumonia", "Pneumonia", 10035664)),
        *("Pneumonia", 10035664, "Lower respiratory tract and lung infections", 10024970),
        *_INF_NEC, *_INFECT,
        0.008, (0.0, 0.2, 0.7, 0.1), (10, 25), ("Possibly related", "Unlikely related"),
    ),
    AETerm(
        (("URTI", "Upper respiratory tract infection", 10046306),
         ("Upper respiratory tract infection", "Upper respiratory tract infection", 10046306)),
        *("Upper respiratory tract infection", 10046306),
        *("Upper respiratory tract infections", 10046309, *_INF_NEC, *_INFECT),
        0.03, (0.55, 0.45, 0.0, 0.0), (5, 14), ("Unlikely related", "Not related"),
    ),
    AETerm(
        (("fatigue", "Fatigue", 10016256), ("Fatigue", "Fatigue", 10016256)),
        *("Fatigue", 10016256, "Asthenic conditions", 10003550),
        *("General system disorders NEC", 10018073),
        *("General disorders and administration site conditions", 10018065),
        0.025, (0.60, 0.35, 0.05, 0.0), (14, 90),
        ("Related", "Possibly related", "Unlikely related"),
    ),
    AETerm(
        (("Rash", "Rash", 10037844),),
        *("Rash", 10037844, "Rashes, eruptions and exanthems NEC", 10037868),
        *("Epidermal and dermal conditions", 10014982),
        *("Skin and subcutaneous tissue disorders", 10040785),
        0.012, (0.5, 0.4, 0.1, 0.0), (7, 21), ("Related", "Possibly related"),
    ),
    AETerm(
        (("Constipation", "Constipation", 10010774), ("constipation", "Constipation", 10010774)),
        *("Constipation", 10010774),
        *("Gastrointestinal atonic and hypomotility disorders NEC", 10017933),
        *("Gastrointestinal motility and defaecation conditions", 10017977),
        *("Gastrointestinal disorders", 10017947),
        0.02, (0.7, 0.3, 0.0, 0.0), (5, 30), ("Possibly related", "Unlikely related"),
    ),
    AETerm(
        (("Peripheral sensory neuropathy", "Peripheral sensory neuropathy", 10034620),),
        *("Peripheral sensory neuropathy", 10034620, "Peripheral neuropathies NEC", 10034606),
        *("Peripheral neuropathies", 10034607, "Nervous system disorders", 10029205),
        0.008, (0.6, 0.35, 0.05, 0.0), (60, 300), ("Possibly related", "Related"),
    ),
    AETerm(
        (("DVT left leg", "Deep vein thrombosis", 10051055),
         ("DVT right leg", "Deep vein thrombosis", 10051055)),
        *("Deep vein thrombosis", 10051055, "Peripheral embolism and thrombosis", 10034590),
        *("Embolism and thrombosis", 10014523, "Vascular disorders", 10047065),
        0.004, (0.0, 0.6, 0.4, 0.0), (60, 180), ("Related", "Possibly related"),
    ),
)  # fmt: skip
_GRADE_CDF: Final = tuple(np.cumsum(t.grades) for t in AE_TERMS)
_NEUTRO, _PNEUMONIA, _URTI, _FATIGUE, _RASH, _CONSTIP, _NEUROP, _DVT = 0, 3, 4, 5, 6, 7, 8, 9
_PRE_TREATMENT_AES: Final = (_URTI, _FATIGUE, _CONSTIP)
_DISCONTINUING_AES: Final = (_RASH, _NEUROP, _DVT, _NEUTRO, _FATIGUE)

# (LBTEST, LBCAT, LBSPEC, LBMETHOD): the order of the tests at each visit.
LAB_TESTS: Final = (
    ("ANC", "Hematology", "Blood", ""),
    ("Platelets", "Hematology", "Blood", ""),
    ("Hemoglobin", "Hematology", "Blood", ""),
    ("WBC", "Hematology", "Blood", ""),
    ("Creatinine", "Chemistry", "Serum", ""),
    ("Total bilirubin", "Chemistry", "Serum", ""),
    ("ALT", "Chemistry", "Serum", ""),
    ("AST", "Chemistry", "Serum", ""),
    ("LDH", "Chemistry", "Serum", ""),
    ("Calcium", "Chemistry", "Serum", ""),
    ("Albumin", "Chemistry", "Serum", ""),
    ("Beta-2 microglobulin", "Chemistry", "Serum", ""),
    ("M-protein", "Disease assessment", "Serum", "Electrophoresis"),
    ("Immunofixation", "Disease assessment", "Serum", "Immunofixation"),
    ("Free kappa", "Disease assessment", "Serum", ""),
    ("Free lambda", "Disease assessment", "Serum", ""),
    ("Kappa/lambda ratio", "Disease assessment", "Serum", ""),
    ("BM plasma cells", "Disease assessment", "Bone marrow", ""),
)
_N_HEME, _N_CHEM, _N_DISEASE = 4, 8, 5
_SCREENING, _CYCLE, _UNSCHEDULED, _INTERIM = 0, 1, 2, 3
PROFILES: Final = ("standard", "realistic")
"""Sample volume: ``realistic`` adds a Day 15 haematology and chemistry draw (an unscheduled
visit) to every treatment cycle, about 500+ LB records per subject over three years."""


def day_number(d: date) -> int:
    """Days since 1970-01-01."""
    return (d - _EPOCH).days


def format_dates(days: IntArray) -> StrArray:
    """``DD MON YYYY`` text for day numbers; NO_DATE becomes the empty string."""
    uniq, inverse = np.unique(np.asarray(days, dtype=np.int64), return_inverse=True)
    text = []
    for n in uniq.tolist():
        if n == NO_DATE:
            text.append("")
        else:
            d = date.fromordinal(_EPOCH.toordinal() + n)
            text.append(f"{d.day:02d} {_MONTHS[d.month - 1]} {d.year}")
    return np.array(text, dtype=object)[inverse.reshape(-1)]


def _month_index(days: IntArray) -> IntArray:
    """Months since January 1970 (to compare partial dates with complete ones)."""
    return np.asarray(days, dtype="datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _strata(rng: np.random.Generator, n: int) -> FloatArray:
    """Stratified uniforms: one draw in each of n equal slices of [0, 1), shuffled."""
    return (rng.permutation(n) + rng.random(n)) / n


def _pick(rng: np.random.Generator, candidates: IntArray, rate: float) -> IntArray:
    """A seeded choice of max(1, round(rate * len)) of the candidate positions (none if empty)."""
    if candidates.size == 0:
        return candidates
    k = min(candidates.size, max(1, round(rate * candidates.size)))
    return np.sort(rng.choice(candidates, size=k, replace=False))


@dataclass
class _Subjects:
    """Subject-level baseline characteristics and latent course, one array entry per subject."""

    ids: list[str]
    consent: IntArray
    c1d1: IntArray
    eligible: BoolArray
    age: IntArray
    birth: IntArray
    female: BoolArray
    ttp: IntArray  # days from C1D1 to (latent) progression
    fate: IntArray  # _FATAL, _AEDISC, _WITHDRAW, _PHYSICIAN or -1
    fate_day: IntArray  # days from C1D1 to the fate event
    response0: IntArray  # index into RESPONSES at the start of maintenance
    mrd_ngs: BoolArray

    @property
    def n(self) -> int:
        """Number of subjects."""
        return len(self.ids)


@dataclass(frozen=True)
class _AERow:
    """One AE as reported (end NO_DATE while ongoing)."""

    subj: int
    term: int
    verbatim: int
    start: int
    end: int
    grade: int
    seriousness: tuple[str, ...]  # AESER, AESDTH, AESLIFE, AESHOSP, AESDISAB, AESCONG, AESMIE
    related: str
    action: str
    outcome: str


@dataclass
class _Tables:
    """Rows collected while simulating each subject's course (dates as day numbers)."""

    ex: list[tuple[int, int, int, int, int, str, str]] = field(default_factory=list)
    ae: list[_AERow] = field(default_factory=list)
    visits: list[tuple[int, str, int, int, int, int, int, bool, bool, int, int, int]] = field(
        default_factory=list
    )
    mrd: list[tuple[int, str, int, str, str]] = field(default_factory=list)
    eot: list[tuple[int, int, int, str]] = field(default_factory=list)
    eos: list[tuple[int, int, str, str, int, str]] = field(default_factory=list)
    sfu: list[tuple[int, int, str, int, str, int]] = field(default_factory=list)
    followed_until: list[int] = field(default_factory=list)  # per subject
    # The last day of each subject's survival follow-up: followed_until, except a subject who
    # completed treatment, followed after the end of study treatment (issue 18).
    follow_up_end: list[int] = field(default_factory=list)


def _subjects(rng: np.random.Generator, part: Block, cutoff: int) -> _Subjects:
    """Draw enrolment dates, cohorts, demographics and each subject's latent course for the
    subjects of `part`: numbered and spread over the enrolment window within the whole study
    (the study's first subject consents in its first week)."""
    n, total = part.size, part.total
    width = max(3, len(str(total)))
    ids = [f"1{i:0{width}d}" for i in range(part.first + 1, part.first + n + 1)]
    start, span = cutoff - FIRST_CONSENT, FIRST_CONSENT - LAST_CONSENT
    position = (np.arange(part.first, part.first + n) + rng.random(n)) / total
    if part.first == 0:
        position[0] = rng.random() * min(1 / total, 7 / span)
    raw = (start + np.floor(position * span)).astype(np.int64).astype("datetime64[D]")
    consent = np.busday_offset(raw, 0, roll="forward").astype(np.int64)
    c1d1 = consent + rng.integers(7, 22, n)

    eligible = np.zeros(n, dtype=bool)
    eligible[rng.permutation(n)[: round(0.6 * n)]] = True
    age = np.where(eligible, rng.normal(57, 6, n), rng.normal(70, 5, n))
    age = np.clip(np.rint(age), np.where(eligible, 35, 58), np.where(eligible, 69, 80))
    birth = consent - np.floor((age + rng.random(n)) * 365.25).astype(np.int64)
    completed_years = [
        c.year - b.year - ((c.month, c.day) < (b.month, b.day))
        for b, c in zip(_to_dates(birth), _to_dates(consent), strict=True)
    ]

    median = np.where(eligible, 42.0, 30.0) * 30.44
    ttp = np.maximum(40, -np.log1p(-_strata(rng, n)) * median / np.log(2)).astype(np.int64)
    u = _strata(rng, n)
    fate = np.select(
        [u < 0.05, u < 0.17, u < 0.22, u < 0.26], [_FATAL, _AEDISC, _WITHDRAW, _PHYSICIAN], -1
    )
    low = np.select([fate == _FATAL, fate == _AEDISC, fate == _WITHDRAW], [60, 45, 60], 150)
    high = np.select([fate == _FATAL, fate == _AEDISC, fate == _WITHDRAW], [700, 400, 600], 700)
    response0 = np.searchsorted(np.array([0.06, 0.10, 0.40, 0.75, 0.95]), _strata(rng, n), "right")
    return _Subjects(
        ids=ids,
        consent=consent,
        c1d1=c1d1,
        eligible=eligible,
        age=np.array(completed_years, dtype=np.int64),
        birth=birth,
        female=rng.random(n) < 0.45,
        ttp=ttp,
        fate=fate.astype(np.int64),
        fate_day=rng.integers(low, high + 1).astype(np.int64),
        response0=response0.astype(np.int64),
        mrd_ngs=rng.random(n) < 0.4,
    )


def _to_dates(days: IntArray) -> list[date]:
    """Day numbers as dates."""
    return [date.fromordinal(_EPOCH.toordinal() + int(d)) for d in days]


@dataclass
class _End:
    """How and when treatment ended for one subject."""

    kind: int
    event: int  # the day it happened: PD/decision visit, AE onset, withdrawal, completion
    stop: int  # first day not dosed (cutoff + 1 while ongoing)
    last_visit: int  # index of the last cycle whose Day 1 visit took place
    eot: int = NO_DATE
    death: int = NO_DATE


@dataclass
class _AE:
    """An adverse event while the course is simulated (index into AE_TERMS and verbatims)."""

    term: int
    verbatim: int
    start: int
    grade: int
    end: int = NO_DATE
    action: str = ""
    related: str = ""
    fatal: bool = False


@dataclass(frozen=True)
class _Modification:
    """A dose interruption (or reduction) inside one cycle, from dosing day `day`."""

    day: int
    resume: int
    action: str
    reason: str


def _schedule(rng: np.random.Generator, c1d1: int) -> tuple[list[int], list[int]]:
    """Cycle start dates (with occasional delays) and Day 1 visit (sample) dates."""
    u = rng.random(MAX_CYCLES)
    jitter = rng.integers(1, 4, MAX_CYCLES)
    early = rng.choice(3, size=MAX_CYCLES, p=[0.8, 0.15, 0.05])
    starts = [c1d1]
    for k in range(1, MAX_CYCLES):
        delay = 0 if u[k] < 0.85 else (int(jitter[k]) if u[k] < 0.97 else 7)
        starts.append(starts[-1] + CYCLE_DAYS + delay)
    visits = [c1d1] + [s - int(e) for s, e in zip(starts[1:], early[1:], strict=True)]
    return starts, visits


def _end(
    rng: np.random.Generator, sub: _Subjects, s: int, starts: list[int], visits: list[int],
    cutoff: int,
) -> _End:  # fmt: skip
    """The first of progression, the subject's fate, completion or the cut-off."""
    c1d1 = starts[0]
    options: list[_End] = []
    progression = c1d1 + int(sub.ttp[s])
    k = next((k for k in range(1, MAX_CYCLES) if starts[k] >= progression), None)
    if k is not None and visits[k] <= cutoff:
        eot = min(visits[k] + int(rng.integers(0, 4)), cutoff)
        options.append(_End(_PROG, visits[k], starts[k], k, eot))
    fate, when = int(sub.fate[s]), c1d1 + int(sub.fate_day[s])
    if fate == _PHYSICIAN:
        k = next((k for k in range(2, MAX_CYCLES) if starts[k] >= when), None)
        if k is not None and visits[k] <= cutoff:
            options.append(_End(_PHYSICIAN, visits[k], starts[k], k, visits[k]))
    elif fate in (_FATAL, _AEDISC, _WITHDRAW) and when <= cutoff:
        last = max(k for k in range(MAX_CYCLES) if visits[k] < when)
        if fate == _FATAL:
            death = when + int(rng.integers(4, 21))
            if death <= cutoff:
                options.append(_End(_FATAL, when, when, last, death, death))
        else:
            eot = min(when + int(rng.integers(1, 8)), cutoff) if fate == _AEDISC else when
            options.append(_End(fate, when, when, last, eot))
    finished = starts[-1] + CYCLE_DAYS
    if finished <= cutoff:
        stop = starts[-1] + DOSING_DAYS
        options.append(_End(_COMPLETED, finished, stop, MAX_CYCLES - 1, finished))
    if options:
        return min(options, key=lambda e: e.event)
    last = max(k for k in range(MAX_CYCLES) if visits[k] <= cutoff)
    return _End(_ONGOING, cutoff, cutoff + 1, last)


def _adverse_events(
    rng: np.random.Generator, consent: int, c1d1: int, end: _End, study_end: int
) -> list[_AE]:
    """Random AEs from first dose to 30 days after the last, a few before treatment, plus the
    AE that ends treatment (discontinuation or death)."""
    window_end = min(end.stop - 1 + 30, study_end)
    if end.kind == _FATAL:
        window_end = end.event - 1
    exposure = max(0, window_end - c1d1 + 1) / CYCLE_DAYS
    counts = rng.poisson([t.rate * exposure for t in AE_TERMS])
    aes: list[_AE] = []
    for term, count in enumerate(counts.tolist()):
        spec = AE_TERMS[term]
        starts = rng.integers(c1d1, window_end + 1, count) if count else np.empty(0, np.int64)
        grades = np.searchsorted(_GRADE_CDF[term], rng.random(count), "right")
        for start, grade in zip(starts.tolist(), np.minimum(grades, 3).tolist(), strict=True):
            verbatim = int(rng.integers(len(spec.verbatims)))
            aes.append(_AE(term, verbatim, start, grade + 1))
    if rng.random() < 0.15:
        term = _PRE_TREATMENT_AES[int(rng.integers(len(_PRE_TREATMENT_AES)))]
        start = int(rng.integers(consent, c1d1))
        aes.append(_AE(term, 0, start, 1, action="Not applicable", related="Not related"))
    if end.kind == _AEDISC:
        term = _DISCONTINUING_AES[int(rng.integers(len(_DISCONTINUING_AES)))]
        aes.append(_AE(term, 0, end.event, 4 if term == _NEUTRO else 3, action="Drug withdrawn"))
    if end.kind == _FATAL:
        aes.append(_AE(_PNEUMONIA, 0, end.event, 5, end.death, "Drug withdrawn", fatal=True))
    aes.sort(key=lambda a: (a.start, a.term))
    for ae in aes:
        spec = AE_TERMS[ae.term]
        if not ae.related:
            ae.related = spec.related[int(rng.integers(len(spec.related)))]
        if ae.end == NO_DATE:
            ae.end = ae.start + int(rng.integers(spec.days[0], spec.days[1] + 1))
    return aes


def _dose_actions(aes: list[_AE], starts: list[int], stop: int) -> dict[int, _Modification]:
    """Decide each AE's action with pomalidomide and the dosing change it causes, by cycle.

    A grade >= 3 AE during dosing days 2-20 interrupts the cycle (at most one change per cycle
    and none right after another); a second severe cytopenia reduces the dose to 1 mg.
    """
    modifications: dict[int, _Modification] = {}
    severe_cytopenias = 0
    reduced = False
    for ae in aes:
        spec = AE_TERMS[ae.term]
        if ae.action:
            continue
        if ae.start >= stop:
            ae.action = "Not applicable"
            continue
        k = max(k for k in range(MAX_CYCLES) if starts[k] <= ae.start)
        day = ae.start - starts[k] + 1
        free = k not in modifications and k - 1 not in modifications
        if ae.grade >= 3 and 2 <= day <= DOSING_DAYS - 1 and free:
            reduce = bool(spec.lab) and severe_cytopenias >= 1 and not reduced
            reduced |= reduce
            ae.action = "Dose reduced" if reduce else "Drug interrupted"
            resume = day + min(max(ae.end - ae.start, 5), 12)
            reason = "Neutropenia" if ae.term == _NEUTRO else "Adverse event"
            modifications[k] = _Modification(day, resume, ae.action, reason)
        else:
            ae.action = "Dose not changed"
        if spec.lab and ae.grade >= 3:
            severe_cytopenias += 1
    return modifications


def _dosing(
    s: int, starts: list[int], end: _End, modifications: dict[int, _Modification], cutoff: int,
    tables: _Tables,
) -> int:  # fmt: skip
    """Append EX rows (one per constant-dosing interval); return the last dose date.

    An interruption shows on the interval after it, or on the cut-short interval when dosing
    did not resume within the cycle; a reduction that could not start within its cycle shows
    on the first interval of the next one.
    """
    dose, carried = 2, ""
    last_dose = NO_DATE
    for k, first in enumerate(starts):
        if first >= end.stop:
            break
        last_day = first + DOSING_DAYS - 1
        action = ("Dose reduced", carried) if carried else ("", "")
        carried = ""
        mod = modifications.get(k)
        segments = [(first, last_day, dose, *action)]
        if mod:
            new_dose = 1 if mod.action == "Dose reduced" else dose
            segments = [
                (first, first + mod.day - 2, dose, *action),
                (first + mod.resume - 1, last_day, new_dose, mod.action, mod.reason),
            ]
            dose = new_dose
        kept = []
        for st, en, d, acn, adj in segments:
            if st >= end.stop:
                continue
            if st > en:
                continue  # dosing did not resume within the cycle
            if en >= end.stop:
                en = NO_DATE if end.kind == _ONGOING else end.stop - 1
            kept.append((st, en, d, acn, adj))
        if mod and len(kept) == 1:
            kept[0] = (*kept[0][:3], "Drug interrupted", mod.reason)
            carried = mod.reason if mod.action == "Dose reduced" else ""
        for st, en, d, acn, adj in kept:
            tables.ex.append((s, k + 1, st, en, d, acn, adj))
            last_dose = max(last_dose, en)
    return last_dose


def _responses(rng: np.random.Generator, response0: int, n_visits: int, pd_at: int) -> list[int]:
    """Response state at each cycle visit (index into RESPONSES)."""
    states = [response0]
    for k in range(1, n_visits):
        state = states[-1]
        if k == pd_at:
            state = _PD
        elif rng.random() < _DEEPEN[state]:
            state += 1
        states.append(state)
    return states


def _course(
    rng: np.random.Generator, sub: _Subjects, s: int, cutoff: int, tables: _Tables,
    follow_rng: np.random.Generator, interim: bool = False,
) -> None:  # fmt: skip
    """Simulate one subject from consent to the cut-off and collect the form rows.

    `follow_rng` draws the survival follow-up of a subject who completed treatment (a stream
    of its own, so the other subjects' draws stay as they were)."""
    consent, c1d1 = int(sub.consent[s]), int(sub.c1d1[s])
    starts, visit_dates = _schedule(rng, c1d1)
    end = _end(rng, sub, s, starts, visit_dates, cutoff)
    if end.kind == _PROG:
        aggressive = rng.random() < 0.35
        survival = 30 + int(rng.exponential((150 if aggressive else 900) / np.log(2)))
        if end.eot + survival <= cutoff:
            end.death = end.eot + survival
    study_end = {_WITHDRAW: end.event, _COMPLETED: end.eot}.get(end.kind, cutoff)
    if end.death != NO_DATE:
        study_end = end.death

    aes = _adverse_events(rng, consent, c1d1, end, study_end)
    modifications = _dose_actions(aes, starts, end.stop)
    last_dose = _dosing(s, starts, end, modifications, cutoff, tables)
    if end.kind != _ONGOING:
        tables.eot.append((s, end.eot, last_dose, _EOT_REASON[end.kind]))
    follow_up_end = _follow_up(rng, s, end, study_end, cutoff, tables, follow_rng)
    tables.follow_up_end.append(follow_up_end)
    # What the AEs know: up to the end of study treatment for a subject who completed it.
    followed_until = min(follow_up_end, study_end)
    tables.followed_until.append(followed_until)
    unknown = end.kind == _WITHDRAW or followed_until < study_end
    _ae_rows(rng, s, aes, end, followed_until, unknown, tables)
    _visit_rows(rng, sub, s, visit_dates, end, aes, study_end, tables, interim)


def _ae_rows(
    rng: np.random.Generator, s: int, aes: list[_AE], end: _End, followed_until: int,
    unknown: bool, tables: _Tables,
) -> None:  # fmt: skip
    """Outcome, seriousness and end date of each AE, then one AE row per event."""
    for ae in aes:
        end_date = ae.end
        if ae.fatal:
            outcome = "Fatal"
        elif ae.end <= followed_until:
            sequelae = ae.term == _NEUROP and rng.random() < 0.4
            outcome = "Recovered/resolved with sequelae" if sequelae else "Recovered/resolved"
        else:
            end_date = NO_DATE
            if unknown:
                outcome = "Unknown"
            elif end.death != NO_DATE or rng.random() < 0.7:
                outcome = "Not recovered/not resolved"
            else:
                outcome = "Recovering/resolving"
        if ae.fatal:
            seriousness = ("Yes", "Yes", "No", "Yes", "No", "No", "No")
        elif ae.term in (_PNEUMONIA, _DVT) and ae.grade >= 3:
            seriousness = ("Yes", "No", "Yes" if ae.grade == 4 else "No", "Yes", "No", "No", "No")
        else:
            seriousness = ("No", "", "", "", "", "", "")
        tables.ae.append(
            _AERow(s, ae.term, ae.verbatim, ae.start, end_date, ae.grade, seriousness,
                   ae.related, ae.action, outcome)
        )  # fmt: skip


def _visit_rows(
    rng: np.random.Generator, sub: _Subjects, s: int, visit_dates: list[int], end: _End,
    aes: list[_AE], study_end: int, tables: _Tables, interim: bool = False,
) -> None:  # fmt: skip
    """Lab visits with their response state, marrow and MRD flags and cytopenia grades
    (`interim`: plus a Day 15 blood draw in every cycle dosed; no random draws)."""
    last = end.last_visit
    states = _responses(rng, int(sub.response0[s]), last + 1, last if end.kind == _PROG else -1)
    screening = int(sub.consent[s]) + int(rng.integers(0, 4))
    # (VISIT, date, kind, cycle, state, previous state, disease panel, marrow)
    rows = [("Screening", screening, _SCREENING, 0, states[0], states[0], True, True)]
    for k in range(last + 1):
        previous = states[max(k - 1, 0)]
        rows.append((f"Cycle {k + 1} Day 1", visit_dates[k], _CYCLE, k + 1, states[k], previous,
                     k >= 1, False))  # fmt: skip
    # MRD (bone marrow) when CR is first suspected (at screening if already there) and
    # yearly for responders; BM plasma cells come with the marrow of a (suspected) CR.
    negative = False
    method = "NGS" if sub.mrd_ngs[s] else "Flow cytometry"
    for i, (name, when, _, cycle, state, previous, _, _) in enumerate(rows):
        new_cr = _CR <= state < _PD and (i == 0 or (cycle >= 2 and previous < _CR))
        if new_cr or (cycle in (13, 26, 39) and _VGPR <= state < _PD):
            p_negative = 0.9 if negative else {_VGPR: 0.25, _CR: 0.65}.get(state, 0.8)
            negative = bool(rng.random() < p_negative)
            result = "Negative" if negative else "Positive"
            tables.mrd.append((s, name, when, method, result))
            if state >= _CR:
                rows[i] = (*rows[i][:7], True)

    taken = {r[1] for r in rows}
    for ae in aes:
        if AE_TERMS[ae.term].lab and ae.grade >= 2 and ae.start not in taken:
            before = max((r for r in rows if r[1] <= ae.start), key=lambda r: r[1])
            rows.append(("Unscheduled", ae.start, _UNSCHEDULED, 0, before[4], before[4], False,
                         False))  # fmt: skip
            taken.add(ae.start)
    for k in range(last + 1) if interim else ():
        day = visit_dates[k] + 14
        if day < end.stop and day <= study_end and day not in taken:
            rows.append(("Unscheduled", day, _INTERIM, 0, states[k], states[k], False, False))
            taken.add(day)
    rows.sort(key=lambda r: r[1])

    for name, when, kind, cycle, state, previous, disease, marrow in rows:
        grades = {"ANC": 0, "Platelets": 0, "Hemoglobin": 0}
        for ae in aes:
            lab = AE_TERMS[ae.term].lab
            if lab and ae.start <= when <= min(ae.end, study_end):
                grades[lab] = max(grades[lab], ae.grade)
        tables.visits.append(
            (s, name, when, kind, cycle, state, previous, disease, marrow, grades["ANC"],
             grades["Platelets"], grades["Hemoglobin"])
        )  # fmt: skip


def _follow_up(
    rng: np.random.Generator, s: int, end: _End, study_end: int, cutoff: int, tables: _Tables,
    follow_rng: np.random.Generator,
) -> int:  # fmt: skip
    """Survival follow-up contacts (about every 3 months after EOT) and end of study.

    Returns the last day the subject is followed (earlier than `study_end` when lost). A
    subject who completed treatment is followed like the others (until the cut-off), drawn
    from `follow_rng`: the study no longer ends at the end of treatment (issue 18).
    """
    if end.kind == _FATAL:
        tables.eos.append((s, end.death, "Death", "Death", end.death, "Pneumonia"))
        return study_end
    if end.kind == _WITHDRAW:
        tables.eos.append((s, end.event, "Discontinued", "Withdrawal by subject", NO_DATE, ""))
        return study_end
    if end.kind == _COMPLETED:
        rng, study_end = follow_rng, cutoff
    if end.kind == _ONGOING:
        return study_end
    new_therapy = NO_DATE
    if end.kind == _PROG and rng.random() < 0.85:
        new_therapy = end.eot + int(rng.integers(10, 46))
    elif end.kind != _PROG and rng.random() < 0.2:
        new_therapy = end.eot + int(rng.integers(60, 301))
    if end.death != NO_DATE and new_therapy >= end.death:
        new_therapy = NO_DATE
    lost_after = int(rng.integers(1, 4)) if rng.random() < 0.04 else -1
    horizon = cutoff if end.death == NO_DATE else end.death - 1
    contact, n = end.eot, 0
    while True:
        contact += 91 + int(rng.integers(-10, 11))
        if contact > horizon:
            break
        started = new_therapy != NO_DATE and new_therapy <= contact
        tables.sfu.append((s, contact, "Alive", NO_DATE, "Yes" if started else "No",
                           new_therapy if started else NO_DATE))  # fmt: skip
        n += 1
        lost = contact + 180
        if n == lost_after and lost <= cutoff and (end.death == NO_DATE or end.death > lost):
            end.death = NO_DATE  # never learnt
            tables.eos.append((s, lost, "Discontinued", "Lost to follow-up", NO_DATE, ""))
            return lost
    if end.death != NO_DATE:
        started = new_therapy != NO_DATE
        tables.sfu.append((s, end.death, "Dead", end.death, "Yes" if started else "No",
                           new_therapy))  # fmt: skip
        cause = "Progressive disease" if rng.random() < 0.85 else "Pneumonia"
        tables.eos.append((s, end.death, "Death", "Death", end.death, cause))
    return study_end


def generate(
    subjects: int, seed: int, cutoff: date, profile: str = "standard", part: Block | None = None
) -> dict[str, pd.DataFrame]:
    """All POMMAINT forms, keyed by form name ("DM", "AE", ...), rows sorted by subject.

    Deterministic for (subjects, seed, cutoff, profile). Every column is text; missing is "".
    `part` (a block of the `subjects`, see ``samplegen.blocks``) gives that block's subjects
    only, with their screen failures, from the block's own random streams; without it, the
    whole study as one block.
    """
    if subjects < 1:
        raise ValueError(f"subjects must be at least 1, got {subjects}")
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; use one of {', '.join(PROFILES)}")
    part = part or Block(0, 0, subjects, subjects)
    if part.total != subjects or part.size < 1 or part.first + part.size > subjects:
        raise ValueError(f"{part} is not a block of a study of {subjects} subjects")
    seed = block_seed(seed, part)
    rng = np.random.default_rng(seed)
    follow_rng = np.random.default_rng([seed, FOLLOW_UP_STREAM])
    cut = day_number(cutoff)
    sub = _subjects(rng, part, cut)
    tables = _Tables()
    for s in range(part.size):
        _course(rng, sub, s, cut, tables, follow_rng, interim=profile == "realistic")
    ids = np.array(sub.ids, dtype=object)
    visits = pd.DataFrame(
        tables.visits,
        columns=["subj", "VISIT", "date", "kind", "cycle", "state", "previous", "disease",
                 "marrow", "anc_grade", "plt_grade", "hgb_grade"],
    )  # fmt: skip
    assessed = visits["disease"].to_numpy() & (visits["kind"].to_numpy() == _CYCLE)
    no_marrow = ~visits["marrow"].to_numpy() & (visits["state"].to_numpy() != _PD)
    missed = np.zeros(len(visits), dtype=bool)
    missed[_pick(rng, np.flatnonzero(assessed & no_marrow), 0.01)] = True
    frames = {
        "DM": _dm(rng, sub),
        "IC": _ic(sub, cut),
        "COH": _coh(rng, sub),
        "EX": _ex(rng, ids, tables),
        "AE": _ae(rng, ids, sub, tables, cut),
        "LB": _lb(rng, ids, sub, visits, missed, cut),
        "RS": _rs(rng, ids, visits, assessed, missed, tables),
        "MRD": _frame(
            {"SUBJID": ids[[r[0] for r in tables.mrd]], "VISIT": [r[1] for r in tables.mrd],
             "MRDDAT": format_dates(np.array([r[2] for r in tables.mrd], dtype=np.int64)),
             "MRDMETH": [r[3] for r in tables.mrd], "MRDSENS": ["10^-5"] * len(tables.mrd),
             "MRDRES": [r[4] for r in tables.mrd]}
        ),
        "EOT": _frame(
            {"SUBJID": ids[[r[0] for r in tables.eot]],
             "EOTDAT": format_dates(np.array([r[1] for r in tables.eot], dtype=np.int64)),
             "LSTDOSDAT": format_dates(np.array([r[2] for r in tables.eot], dtype=np.int64)),
             "EOTREAS": [r[3] for r in tables.eot]}
        ),
        "EOS": _frame(
            {"SUBJID": ids[[r[0] for r in tables.eos]],
             "EOSDAT": format_dates(np.array([r[1] for r in tables.eos], dtype=np.int64)),
             "EOSSTAT": [r[2] for r in tables.eos], "EOSREAS": [r[3] for r in tables.eos],
             "DTHDAT": format_dates(np.array([r[4] for r in tables.eos], dtype=np.int64)),
             "DTHCAUS": [r[5] for r in tables.eos]}
        ),
        "SFU": _sfu(rng, ids, tables, cut),
    }  # fmt: skip
    # History, medications, ECOG and vital signs: read from the forms above, drawn from a
    # stream of their own (imported here: that module builds on this one). Then the screen
    # failures and the screening-only forms, from a child stream of their own (imported
    # here: that module reads this one's public names).
    from samplegen.pommaint_history import history_forms
    from samplegen.pommaint_screening import add_screening

    frames = {**frames, **history_forms(frames, seed, cut)}
    frames = add_screening(frames, part, seed, cut)
    # The IMWG disease assessments (LB's disease tests, RS, DX's diagnosis values) anew,
    # from a child stream of their own, read from the course simulated above.
    from samplegen.imwg import Course, disease_assessments

    therapy = np.full(part.size, NO_DATE, dtype=np.int64)
    death = np.full(part.size, NO_DATE, dtype=np.int64)
    eot = np.full(part.size, NO_DATE, dtype=np.int64)
    reason = [""] * part.size
    for s, _, _, _, _, started in tables.sfu:
        therapy[s] = max(therapy[s], started)
    for s, _, _, _, died, _ in tables.eos:
        death[s] = died
    for s, day, _, why in tables.eot:
        eot[s], reason[s] = day, why
    entry = visits["kind"].to_numpy() == _SCREENING
    course = Course(
        visits=visits.loc[entry | assessed, ["subj", "VISIT", "date", "state"]],
        progression=sub.c1d1 + sub.ttp,
        followed_until=np.array(tables.follow_up_end, dtype=np.int64),
        new_therapy=therapy, death=death, eot=eot, eot_reason=reason,
    )  # fmt: skip
    return disease_assessments(frames, ids, course, seed, cut)


def _frame(columns: dict[str, object]) -> pd.DataFrame:
    """A text frame led by SITEID; every value a str ("" for missing)."""
    n = len(next(iter(columns.values())))  # type: ignore[arg-type]
    return pd.DataFrame({"SITEID": [SITE] * n, **columns}, dtype="str")


text_frame = _frame  # public: the history forms (pommaint_history) are built with it too


def _dm(rng: np.random.Generator, sub: _Subjects) -> pd.DataFrame:
    n = sub.n
    birth = format_dates(sub.birth)
    for i, p in enumerate(rng.permutation(_pick(rng, np.arange(n), 0.1)).tolist()):
        birth[p] = "UN " + birth[p][3:] if i % 2 == 0 else "UN UNK " + birth[p][-4:]
    sex = np.where(sub.female, "Female", "Male").astype(object)
    sex[_pick(rng, np.flatnonzero(~sub.female), 0.03)] = "male"
    sex[_pick(rng, np.flatnonzero(sub.female), 0.03)] = "FEMALE "
    race = np.full(n, "Asian", dtype=object)
    other = np.full(n, "", dtype=object)
    chosen = _pick(rng, np.arange(n), 0.03)
    race[chosen] = "Other"
    minorities = np.array(["Hui Chinese", "Uyghur"], dtype=object)
    other[chosen] = minorities[rng.integers(0, 2, chosen.size)]
    return _frame(
        {"SUBJID": sub.ids, "BRTHDAT": birth, "AGE": sub.age.astype(str), "SEX": sex,
         "RACE": race, "RACEOTH": other, "ETHNIC": ["Not Hispanic or Latino"] * n,
         "COUNTRY": ["China"] * n, "DMDAT": format_dates(sub.consent)}
    )  # fmt: skip


def _ic(sub: _Subjects, cutoff: int) -> pd.DataFrame:
    amendment = cutoff - FIRST_CONSENT + _PROTOCOL_V11
    return _frame(
        {"SUBJID": sub.ids, "ICDAT": format_dates(sub.consent),
         "ICVER": np.where(sub.consent >= amendment, "1.1", "1.0"),
         "ELIGYN": ["Yes"] * sub.n, "IENOTMET": [""] * sub.n}
    )  # fmt: skip


def _coh(rng: np.random.Generator, sub: _Subjects) -> pd.DataFrame:
    n, eligible = sub.n, sub.eligible
    cohort = np.where(eligible, "Transplant eligible", "Transplant ineligible").astype(object)
    cohort[_pick(rng, np.flatnonzero(eligible), 0.03)] = "transplant eligible"
    asct = np.where(eligible, sub.c1d1 - rng.integers(80, 101, n), NO_DATE)
    induction_end = np.where(eligible, NO_DATE, sub.consent - rng.integers(7, 41, n))
    other_reason = np.where(rng.random(n) < 0.7, "Comorbidities", "Patient preference")
    reason = np.where(sub.age > 65, "Age > 65 years", other_reason)
    return _frame(
        {"SUBJID": sub.ids, "COHORT": cohort,
         "ASSIGNDAT": format_dates(sub.consent + rng.integers(1, 6, n)),
         "ASCTDAT": format_dates(asct), "INDENDAT": format_dates(induction_end),
         "TRNSINRS": np.where(eligible, "", reason)}
    )  # fmt: skip


def _ex(rng: np.random.Generator, ids: StrArray, tables: _Tables) -> pd.DataFrame:
    rows = tables.ex
    unit = np.full(len(rows), "mg", dtype=object)
    unit[_pick(rng, np.arange(len(rows)), 0.02)] = "MG"
    return _frame(
        {"SUBJID": ids[[r[0] for r in rows]], "CYCLE": [str(r[1]) for r in rows],
         "EXSTDAT": format_dates(np.array([r[2] for r in rows], dtype=np.int64)),
         "EXENDAT": format_dates(np.array([r[3] for r in rows], dtype=np.int64)),
         "EXDOSE": [str(r[4]) for r in rows], "EXDOSEU": unit,
         "EXACN": [r[5] for r in rows], "EXADJ": [r[6] for r in rows]}
    )  # fmt: skip


def _ae(
    rng: np.random.Generator, ids: StrArray, sub: _Subjects, tables: _Tables, cutoff: int
) -> pd.DataFrame:
    rows = tables.ae
    subj = np.array([r.subj for r in rows], dtype=np.int64)
    terms = [AE_TERMS[r.term] for r in rows]
    verbatim = [t.verbatims[r.verbatim] for t, r in zip(terms, rows, strict=True)]
    start = np.array([r.start for r in rows], dtype=np.int64)
    end = np.array([r.end for r in rows], dtype=np.int64)
    spid = np.ones(len(rows), dtype=np.int64)
    for i in range(1, len(rows)):
        spid[i] = spid[i - 1] + 1 if subj[i] == subj[i - 1] else 1

    # A few partial dates on mild AEs without dose consequences; the month alone must still
    # show the AE on treatment, within the subject's follow-up and before the cut-off month.
    start_text, end_text = format_dates(start), format_dates(end)
    month, end_month = _month_index(start), _month_index(np.where(end == NO_DATE, 0, end))
    limit_month = np.minimum(
        _month_index(np.array(tables.followed_until, dtype=np.int64))[subj],
        _month_index(np.array([cutoff], dtype=np.int64))[0],
    )
    mild = np.array([r.grade <= 2 and r.action == "Dose not changed" for r in rows], dtype=bool)
    ongoing = end == NO_DATE
    ok_start = mild & (month > _month_index(sub.c1d1)[subj]) & (month < limit_month)
    ok_start &= ongoing | (end_month > month)
    partial_start = _pick(rng, np.flatnonzero(ok_start), 0.02)
    ok_end = mild & ~ongoing & (end_month > month) & (end_month < limit_month)
    ok_end[partial_start] = False
    for i in partial_start.tolist():
        start_text[i] = "UN " + start_text[i][3:]
    for i in _pick(rng, np.flatnonzero(ok_end), 0.02).tolist():
        end_text[i] = "UN " + end_text[i][3:]

    seriousness = ["AESER", "AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE"]
    flags = {name: [r.seriousness[i] for r in rows] for i, name in enumerate(seriousness)}
    return _frame(
        {"SUBJID": ids[subj], "AESPID": spid.astype(str), "AETERM": [v[0] for v in verbatim],
         "AELLT": [v[1] for v in verbatim], "AELLTCD": [str(v[2]) for v in verbatim],
         "AEDECOD": [t.pt for t in terms], "AEPTCD": [str(t.ptcd) for t in terms],
         "AEHLT": [t.hlt for t in terms], "AEHLTCD": [str(t.hltcd) for t in terms],
         "AEHLGT": [t.hlgt for t in terms], "AEHLGTCD": [str(t.hlgtcd) for t in terms],
         "AESOC": [t.soc for t in terms], "AESOCCD": [str(t.soccd) for t in terms],
         "AESTDAT": start_text, "AEENDAT": end_text, "AEONGO": np.where(ongoing, "Yes", "No"),
         "AETOXGR": [str(r.grade) for r in rows], **flags,
         "AEREL": [r.related for r in rows], "AEACN": [r.action for r in rows],
         "AEOUT": [r.outcome for r in rows]}
    )  # fmt: skip


def _sfu(rng: np.random.Generator, ids: StrArray, tables: _Tables, cutoff: int) -> pd.DataFrame:
    rows = tables.sfu
    subj = np.array([r[0] for r in rows], dtype=np.int64)
    contact = np.array([r[1] for r in rows], dtype=np.int64)
    therapy = np.array([r[5] for r in rows], dtype=np.int64)
    therapy_text = format_dates(therapy)
    # A partial new-therapy date only when its month is after EOT's and before the month of
    # the first contact that reports it (and before the cut-off month).
    eot = np.zeros(len(ids), dtype=np.int64)
    eot[np.array([r[0] for r in tables.eot], dtype=np.int64)] = [r[1] for r in tables.eot]
    reported = pd.DataFrame({"subj": subj, "contact": contact, "therapy": therapy})
    reported = reported[therapy != NO_DATE].drop_duplicates("subj")
    who = reported["subj"].to_numpy()
    month = _month_index(reported["therapy"].to_numpy())
    ok = (_month_index(eot[who]) < month) & (month < _month_index(reported["contact"].to_numpy()))
    ok &= month < _month_index(np.array([cutoff], dtype=np.int64))[0]
    for s in _pick(rng, who[ok], 0.1).tolist():
        rows_s = (subj == s) & (therapy != NO_DATE)
        therapy_text[rows_s] = "UN " + therapy_text[np.flatnonzero(rows_s)[0]][3:]
    return _frame(
        {"SUBJID": ids[subj], "SFUDAT": format_dates(contact), "SFUSTAT": [r[2] for r in rows],
         "DTHDAT": format_dates(np.array([r[3] for r in rows], dtype=np.int64)),
         "NEWTHER": [r[4] for r in rows], "NEWTHDAT": therapy_text}
    )  # fmt: skip


def _rs(
    rng: np.random.Generator, ids: StrArray, visits: pd.DataFrame, assessed: BoolArray,
    missed: BoolArray, tables: _Tables,
) -> pd.DataFrame:  # fmt: skip
    """One IMWG response per cycle visit from Cycle 2: NE where the disease samples were
    missed, a few not done, a few in lower case or with a trailing space."""
    rows = visits[assessed]
    state = rows["state"].to_numpy()
    result = np.array(RESPONSES, dtype=object)[state]
    result[missed[assessed]] = "NE"
    mrd_visits = {(s, v) for s, v, *_ in tables.mrd}
    keys = zip(rows["subj"].tolist(), rows["VISIT"].tolist(), strict=True)
    plain = np.array([k not in mrd_visits for k in keys], dtype=bool)
    plain &= (state != _PD) & (result != "NE")
    not_done = np.zeros(len(rows), dtype=bool)
    not_done[_pick(rng, np.flatnonzero(plain), 0.008)] = True
    result[not_done] = ""
    messy = rng.permutation(np.flatnonzero(~not_done & (result != "NE")))
    k = max(1, round(0.02 * messy.size))
    for i in messy[:k].tolist():
        result[i] = result[i].lower()
    for i in messy[k : 2 * k].tolist():
        result[i] += " "
    return _frame(
        {"SUBJID": ids[rows["subj"].to_numpy()], "VISIT": rows["VISIT"].to_numpy(),
         "RSDAT": format_dates(rows["date"].to_numpy()), "RSORRES": result,
         "RSND": np.where(not_done, "Not done", ""),
         "RSREASND": np.where(not_done, "Assessment not performed", "")}
    )  # fmt: skip


_ANC_GRADES: Final = ((0, 1.5, 1.0, 0.5, 0.1), (0, 1.95, 1.45, 0.95, 0.45))  # 10^9/L
_PLT_GRADES: Final = ((0, 76, 51, 26, 8), (0, 120, 74, 49, 24))  # 10^9/L
_HGB_GRADES: Final = ((0, 101, 81, 66, 55), (0, 112, 99, 79, 64))  # g/L
_M_FRACTION: Final = ((0.80, 0.52, 0.15, 0.0, 0.0, 0.0, 0.0), (1.0, 0.72, 0.45, 0.05, 0, 0, 0))
_BM_PERCENT: Final = ((10, 8, 4, 2, 1, 0.5, 0), (30, 20, 12, 6, 4, 2, 0))


def _number(x: FloatArray, decimals: int) -> StrArray:
    """Non-negative numbers as fixed-decimal text."""
    scaled = np.rint(np.asarray(x, dtype=np.float64) * 10**decimals).astype(np.int64)
    if decimals == 0:
        return scaled.astype(str).astype(object)
    whole, part = np.divmod(scaled, 10**decimals)
    digits = np.strings.zfill(part.astype(str), decimals)
    text = np.strings.add(np.strings.add(whole.astype(str), "."), digits)
    return text.astype(object)


def _lb(
    rng: np.random.Generator, ids: StrArray, sub: _Subjects, visits: pd.DataFrame,
    missed: BoolArray, cutoff: int,
) -> pd.DataFrame:  # fmt: skip
    """Local lab: one row per visit and test (vectorised), following each subject's course."""
    n, nv = sub.n, len(visits)
    sv = visits["subj"].to_numpy()
    kind, when = visits["kind"].to_numpy(), visits["date"].to_numpy()
    state, previous = visits["state"].to_numpy(), visits["previous"].to_numpy()
    female = sub.female[sv]
    treated = np.where(kind != _SCREENING, 1.0, 0.0)
    progressing = state == _PD

    # Subject level: baselines, myeloma light chain, units the lab reports them in.
    anc0 = np.clip(rng.normal(3.4, 0.8, n), 2.0, None)[sv]
    lymph0 = rng.uniform(1.0, 2.2, n)[sv]
    plt0 = np.clip(rng.normal(210, 50, n), 110, 400)[sv]
    hgb0 = np.clip(np.where(sub.female, rng.normal(121, 9, n), rng.normal(134, 10, n)), 104, 165)
    crea0 = np.clip(rng.normal(0.85, 0.17, n) * np.where(sub.female, 0.85, 1.0), 0.5, 1.8)[sv]
    bili0 = np.clip(rng.normal(0.6, 0.2, n), 0.25, 1.4)[sv]
    alt0, ast0 = np.exp(rng.normal(np.log(20), 0.35, n))[sv], np.exp(rng.normal(3.1, 0.3, n))[sv]
    ldh0, ca0 = np.exp(rng.normal(np.log(175), 0.15, n))[sv], rng.normal(9.3, 0.3, n)[sv]
    alb0, b2m0 = np.clip(rng.normal(41, 3, n), 33, 50)[sv], np.exp(rng.normal(0.8, 0.3, n))[sv]
    m0, depth = rng.uniform(1.5, 5.0, n)[sv], rng.random(n)[sv]
    kappa = (rng.random(n) < 0.65)[sv]
    # The heavy chain of the myeloma protein, from a child stream: drawing it from `rng`
    # would move every value drawn after it (IgG about 70 %, IgA the rest).
    heavy = np.where(rng.spawn(1)[0].random(n) < 0.7, "IgG", "IgA")[sv]
    normal_kappa, normal_lambda = np.exp(rng.normal(np.log([[10.0], [14.0]]), 0.25, (2, n)))
    hb_gdl, bili_mg, ca_mg, alb_gdl = rng.random((4, n)) < [[0.2], [0.15], [0.25], [0.2]]
    creat_si = when >= cutoff - FIRST_CONSENT + _CREATININE_SI

    def noise(sd: float) -> FloatArray:
        return np.exp(rng.normal(0.0, sd, nv))

    def within(index: IntArray, bounds: tuple[tuple[float, ...], tuple[float, ...]]) -> FloatArray:
        low, high = np.array(bounds[0])[index], np.array(bounds[1])[index]
        return low + (high - low) * rng.random(nv)

    grade = {c: visits[c].to_numpy() for c in ("anc_grade", "plt_grade", "hgb_grade")}
    anc = np.clip(anc0 * (1 - 0.2 * treated) * noise(0.15), 1.6, 9.0)
    anc = np.where(grade["anc_grade"] > 0, within(grade["anc_grade"], _ANC_GRADES), anc)
    wbc = anc + lymph0 * noise(0.15) + 0.4
    platelets = np.clip(plt0 * (1 - 0.1 * treated) * noise(0.12), 100, 450)
    platelets = np.where(grade["plt_grade"] > 0, within(grade["plt_grade"], _PLT_GRADES), platelets)
    hgb = np.clip(hgb0[sv] * (1 - 0.03 * treated) * noise(0.05), 100, 175)
    hgb = np.where(grade["hgb_grade"] > 0, within(grade["hgb_grade"], _HGB_GRADES), hgb)

    low, high = (np.array(bound) for bound in _M_FRACTION)
    fraction = low[state] + (high - low)[state] * depth  # where the subject sits in the band
    before = low[previous] + (high - low)[previous] * depth
    m_protein = np.where(progressing, m0 * before + 0.5 + 0.7 * rng.random(nv),
                         m0 * fraction * noise(0.08))  # fmt: skip
    r = rng.random(nv)
    involved = np.select(
        [state == 5, state == _CR], [0.8 + 0.4 * r, 1.0 + 0.8 * r], 1 + 25 * m_protein / m0
    )
    uninvolved = 0.8 * noise(0.1)
    free_kappa = np.rint(normal_kappa[sv] * np.where(kappa, involved, uninvolved) * 10) / 10
    free_lambda = np.rint(normal_lambda[sv] * np.where(kappa, uninvolved, involved) * 10) / 10
    marrow = np.where(kind == _SCREENING, within(state, _BM_PERCENT), 0.5 + 2.5 * rng.random(nv))

    sex_range = np.where(female, 1, 0)  # index into (male, female) ranges

    def by_sex(male: str, woman: str) -> StrArray:
        return np.array([male, woman], dtype=object)[sex_range]

    def pick(flag: BoolArray, yes: str | StrArray, no: str | StrArray) -> StrArray:
        return np.where(flag, yes, no).astype(object)

    m_text = np.where(m_protein < 0.05, "<0.05", _number(m_protein, 2)).astype(object)
    hgb_dl = hb_gdl[sv]
    # Per test: (result, unit, normal range low, normal range high), one value per visit.
    values: list[tuple[StrArray, str | StrArray, str | StrArray, str | StrArray]] = [
        (_number(anc, 1), "10^9/L", "2.0", "7.0"),
        (_number(platelets, 0), "10^9/L", "125", "350"),
        (pick(hgb_dl, _number(hgb / 10, 1), _number(hgb, 0)), pick(hgb_dl, "g/dL", "g/L"),
         pick(hgb_dl, by_sex("13.0", "11.5"), by_sex("130", "115")),
         pick(hgb_dl, by_sex("17.5", "15.0"), by_sex("175", "150"))),
        (_number(wbc, 1), "10^9/L", "3.5", "9.5"),
        (pick(creat_si, _number(crea0 * noise(0.07) * 88.4, 0), _number(crea0 * noise(0.07), 2)),
         pick(creat_si, "umol/L", "mg/dL"),
         pick(creat_si, by_sex("57", "41"), by_sex("0.64", "0.46")),
         pick(creat_si, by_sex("111", "81"), by_sex("1.26", "0.92"))),
        (pick(bili_mg[sv], _number(bili0 * noise(0.15), 2), _number(bili0 * noise(0.15) * 17.1, 1)),
         pick(bili_mg[sv], "mg/dL", "umol/L"), pick(bili_mg[sv], "0.20", "3.4"),
         pick(bili_mg[sv], "1.20", "20.5")),
        (_number(alt0 * noise(0.2), 0), "U/L", by_sex("9", "7"), by_sex("50", "40")),
        (_number(ast0 * noise(0.18), 0), "U/L", by_sex("15", "13"), by_sex("40", "35")),
        (_number(ldh0 * noise(0.1) * np.where(progressing, 1.35, 1.0), 0), "U/L", "120", "250"),
        (pick(ca_mg[sv], _number(ca0 + rng.normal(0, 0.25, nv), 1),
              _number((ca0 + rng.normal(0, 0.25, nv)) * 0.2495, 2)),
         pick(ca_mg[sv], "mg/dL", "mmol/L"), pick(ca_mg[sv], "8.5", "2.11"),
         pick(ca_mg[sv], "10.1", "2.52")),
        (pick(alb_gdl[sv], _number(alb0 * noise(0.04) / 10, 1), _number(alb0 * noise(0.04), 0)),
         pick(alb_gdl[sv], "g/dL", "g/L"), pick(alb_gdl[sv], "4.0", "40"),
         pick(alb_gdl[sv], "5.5", "55")),
        (_number(b2m0 * noise(0.1) * np.where(progressing, 1.6, 1.0), 1), "mg/L", "1.0", "3.0"),
        (m_text, "g/dL", "", ""),
        (pick((state >= _CR) & ~progressing, "Negative",
              np.strings.add(heavy, np.where(kappa, " kappa", " lambda"))), "", "", ""),
        (_number(free_kappa, 1), "mg/L", "3.3", "19.4"),
        (_number(free_lambda, 1), "mg/L", "5.7", "26.3"),
        (_number(free_kappa / free_lambda, 2), "", "0.26", "1.65"),
        (_number(marrow, 1), "%", "", ""),
    ]  # fmt: skip

    n_tests = len(LAB_TESTS)
    chemistry = slice(_N_HEME, _N_HEME + _N_CHEM)
    disease = slice(_N_HEME + _N_CHEM, _N_HEME + _N_CHEM + _N_DISEASE)
    mask = np.zeros((nv, n_tests), dtype=bool)
    mask[:, :_N_HEME] = True
    mask[:, chemistry] = (kind != _UNSCHEDULED)[:, None]
    mask[:, disease] = visits["disease"].to_numpy()[:, None]
    mask[:, -1] = visits["marrow"].to_numpy()
    flat = np.flatnonzero(mask.ravel())
    vi, ti = np.divmod(flat, n_tests)
    position = (np.cumsum(mask.ravel()) - 1).reshape(nv, n_tests)
    columns = {c: np.full(flat.size, "", dtype=object) for c in ("res", "unit", "lo", "hi")}
    for t, row in enumerate(values):
        rows = mask[:, t]
        at = position[rows, t]
        for column, value in zip(columns.values(), row, strict=True):
            column[at] = value[rows] if isinstance(value, np.ndarray) else value

    # Not done: the whole disease panel at missed visits, and single haematology/chemistry
    # tests; then a few results with a trailing space.
    not_done = missed[vi] & (ti >= disease.start) & (ti < disease.stop)
    reason = np.where(not_done, "Sample not collected", "").astype(object)
    single = _pick(rng, np.flatnonzero(ti < chemistry.stop), 0.003)
    not_done[single] = True
    other = rng.integers(0, 2, single.size) == 0
    reason[single] = np.where(
        other, "Insufficient sample", np.where(ti[single] < _N_HEME, "Sample clotted",
                                               "Sample haemolysed"))  # fmt: skip
    columns["res"][not_done] = ""
    columns["unit"][not_done] = ""
    spaced = _pick(rng, np.flatnonzero(~not_done), 0.002)
    columns["res"][spaced] = columns["res"][spaced] + " "

    catalogue = np.array(LAB_TESTS, dtype=object)
    return _frame(
        {"SUBJID": ids[sv[vi]], "VISIT": visits["VISIT"].to_numpy()[vi],
         "LBDAT": format_dates(when)[vi], "LBCAT": catalogue[ti, 1], "LBTEST": catalogue[ti, 0],
         "LBSPEC": catalogue[ti, 2], "LBMETHOD": catalogue[ti, 3], "LBORRES": columns["res"],
         "LBORRESU": columns["unit"], "LBORNRLO": columns["lo"], "LBORNRHI": columns["hi"],
         "LBND": np.where(not_done, "Not done", ""), "LBREASND": reason}
    )  # fmt: skip


def as_entered(frames: dict[str, pd.DataFrame], night: int) -> dict[str, pd.DataFrame]:
    """The data as the EDC held it on a given night: the site's late correction.

    On night 1 the first subject's first haemoglobin result of a cycle visit was keyed
    without its decimal point (``"112"`` for ``"11.2"``) and their first AE with an end date
    was still open (no end date, ongoing, outcome "Recovering/resolving"). From night 2 on
    the site has corrected both, so two consecutive nightly exports differ by exactly these
    two records: what a change report and the quality gates must notice.
    """
    if night >= 2:
        return frames
    lb, ae = frames["LB"].copy(), frames["AE"].copy()
    first = lb["SUBJID"].iloc[0]
    hgb = lb.index[
        (lb["SUBJID"] == first)
        & (lb["LBTEST"] == "Hemoglobin")
        & lb["VISIT"].str.startswith("Cycle")
        & lb["LBORRES"].str.fullmatch(r"\d+\.\d")
    ]
    if len(hgb):
        lb.loc[hgb[0], "LBORRES"] = lb.loc[hgb[0], "LBORRES"].replace(".", "")
    closed = ae.index[(ae["SUBJID"] == first) & (ae["AEENDAT"] != "") & (ae["AEOUT"] != "Fatal")]
    if len(closed):
        ae.loc[closed[0], ["AEENDAT", "AEONGO", "AEOUT"]] = ["", "Yes", "Recovering/resolving"]
    return {**frames, "LB": lb, "AE": ae}


# --- a dirty export: one defect of each class the quality gates catch ---------------------

DEFECT_KINDS: Final = (
    "unknown-subject", "missing-required", "unparseable-date", "ae-before-consent",
    "out-of-set-code", "wrong-type", "out-of-range", "duplicate-key", "dose-after-end",
    "implausible-lab",
)  # fmt: skip


def _day(text: str) -> date:
    """A complete ``DD MON YYYY`` date as a date."""
    day, month, year = text.split()
    return date(int(year), _MONTHS.index(month.upper()) + 1, int(day))


def _text_date(d: date) -> str:
    return str(format_dates(np.array([day_number(d)], dtype=np.int64))[0])


def make_dirty(
    frames: dict[str, pd.DataFrame], cutoff: date
) -> tuple[dict[str, pd.DataFrame], list[dict[str, str]]]:
    """The export with one defect of each kind in ``DEFECT_KINDS`` planted, each in its own
    subject where the study has enough (the first suitable subject in SUBJID order), and the
    list of what was planted: kind, form, subject, field, value and what it is.

    The defects are the mistakes the quality gates exist for: a record of a subject the
    demographics form does not know, a required value left empty, an impossible date, an AE
    starting before informed consent, a code outside its set, text in a number field, a dose
    keyed ten times too high, a lab record entered twice, a dose after the end of treatment,
    and (a warning) a neutrophil count keyed per microlitre.
    """
    f = {name: frame.reset_index(drop=True).copy() for name, frame in frames.items()}
    used: set[str] = set()
    planted: list[dict[str, str]] = []

    def row_of(form: str, ok: pd.Series | None = None) -> int:
        """The first row (of an unused subject if any) where `ok` holds."""
        frame = f[form]
        ok = pd.Series(True, index=frame.index) if ok is None else ok.fillna(False).astype(bool)
        fresh = ok & ~frame["SUBJID"].isin(used)
        hits = frame.index[fresh] if fresh.any() else frame.index[ok]
        if not len(hits):
            raise ValueError(f"--dirty: no {form} record can carry the next defect; "
                             "use more subjects")  # fmt: skip
        used.add(str(frame.at[hits[0], "SUBJID"]))
        return int(hits[0])

    def plant(kind: str, form: str, row: int, field: str, value: str, what: str) -> None:
        f[form].at[row, field] = value
        subject = str(f[form].at[row, "SUBJID"])
        planted.append({"kind": kind, "form": form, "subject": subject, "field": field,
                        "value": value, "what": what})  # fmt: skip

    def cell(form: str, row: int, column: str) -> str:
        return str(f[form].at[row, column])

    consent = dict(zip(f["IC"]["SUBJID"], f["IC"]["ICDAT"], strict=True))

    # A record of a subject the demographics form does not have (appended: its own subject).
    stranger = "9" + "0" * (len(cell("DM", 0, "SUBJID")) - 1)
    ae = f["AE"]
    f["AE"] = ae = pd.concat([ae, ae.iloc[[0]].assign(SUBJID=stranger)], ignore_index=True)
    planted.append({"kind": "unknown-subject", "form": "AE", "subject": stranger,
                    "field": "SUBJID", "value": stranger,
                    "what": "AE of a subject missing from demographics"})  # fmt: skip
    known = ae["SUBJID"] != stranger
    plant("missing-required", "AE", row_of("AE", known), "AETERM", "", "AE term left empty")
    complete = r"\d\d [A-Z]{3} \d{4}"
    row = row_of("AE", known & ae["AEENDAT"].str.fullmatch(complete))
    plant("unparseable-date", "AE", row, "AEENDAT", "32" + cell("AE", row, "AEENDAT")[2:],
          "AE end date on day 32")  # fmt: skip
    row = row_of("AE", known & ae["AESTDAT"].str.fullmatch(complete))
    early = _day(consent[cell("AE", row, "SUBJID")]) - timedelta(days=10)
    plant("ae-before-consent", "AE", row, "AESTDAT", _text_date(early),
          "AE starts 10 days before informed consent")  # fmt: skip
    plant("out-of-set-code", "DM", row_of("DM"), "SEX", "Mle", "sex misspelt")
    row = row_of("DM")
    plant("wrong-type", "DM", row, "AGE", cell("DM", row, "AGE")[0] + "O", "letter O in the age")
    row = row_of("EX")
    plant("out-of-range", "EX", row, "EXDOSE", cell("EX", row, "EXDOSE") + "0",
          "daily dose keyed ten times too high")  # fmt: skip

    # A dose after the end of treatment: the last dosing interval of a subject who ended
    # treatment is extended past the end-of-treatment date (still before the cut-off).
    ends = {s: _day(d) for s, d in zip(f["EOT"]["SUBJID"], f["EOT"]["EOTDAT"], strict=True)}
    late = [s for s, d in ends.items() if d + timedelta(days=5) <= cutoff]
    ex = f["EX"]
    last = ~ex["SUBJID"].duplicated(keep="last") & ex["SUBJID"].isin(late)
    row = row_of("EX", last & (ex["EXENDAT"] != ""))
    end = ends[cell("EX", row, "SUBJID")] + timedelta(days=5)
    plant("dose-after-end", "EX", row, "EXENDAT", _text_date(end),
          "last dosing interval ends 5 days after the end of treatment")  # fmt: skip

    lb = f["LB"]
    row = row_of("LB", (lb["LBTEST"] == "ANC") & (lb["LBORRES"] != ""))
    per_microlitre = str(round(float(cell("LB", row, "LBORRES")) * 1000))
    plant("implausible-lab", "LB", row, "LBORRES", per_microlitre,
          "neutrophils keyed per microlitre, not 10^9/L")  # fmt: skip
    row = row_of("LB")
    keys = ["SUBJID", "VISIT", "LBTEST", "LBDAT"]
    planted.append({"kind": "duplicate-key", "form": "LB", "subject": cell("LB", row, "SUBJID"),
                    "field": "/".join(keys), "value": "|".join(cell("LB", row, k) for k in keys),
                    "what": "lab record entered twice"})  # fmt: skip
    f["LB"] = pd.concat([lb.iloc[: row + 1], lb.iloc[[row]], lb.iloc[row + 1 :]],
                        ignore_index=True)  # fmt: skip
    return f, planted
