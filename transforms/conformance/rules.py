"""The rules the conformance report checks: ID, severity, what it means and where the ID is from.

Rule IDs are those of the published rule each check implements, so a reviewer can look them
up: the FDA Validator Rules v1.3 (the ``SDxxxx``/``CTxxxx`` numbers Pinnacle 21 uses), the
Pinnacle 21 ADaM rules (``ADxxxx``, as the PMDA lists them), an FDA Business Rule
(``FDABxxx``) where no validator rule matches the check as made here, or a CDISC CORE rule
(``CORE-xxxxxx``); ``source`` adds the CDISC conformance rule (``CGxxxx``) and the CORE rule
each corresponds to where one exists. A check for which no published rule
was found has a project ID, ``PIPE-xxx``, and says so in ``source``.

Severities follow the PMDA/Pinnacle 21 scale: ``Reject`` (the agency refuses the data),
``Error``, ``Warning`` and ``Notice``. :data:`BLOCKING` names the ones that should stop a
publication; the report itself never stops anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

Severity = Literal["Reject", "Error", "Warning", "Notice"]
SEVERITIES: tuple[Severity, ...] = ("Reject", "Error", "Warning", "Notice")
BLOCKING: frozenset[str] = frozenset({"Reject", "Error"})

FDA_VR = "FDA Validator Rules v1.3"
ADAM_VR = "Pinnacle 21 ADaM rule (PMDA validation rules 2019-09)"
PROJECT = "project rule: no published rule found"


@dataclass(frozen=True)
class RuleDef:
    id: str
    severity: Severity
    description: str
    source: str


# TS parameters the FDA validator expects, with the rule that reports each one missing
# (SD2201-SD2235, CDISC CG0287 / CORE-000740); SDTIGVER has no validator rule of its own.
TS_PARAMETERS: Mapping[str, str] = MappingProxyType(
    {
        "ADDON": "SD2201", "AGEMAX": "SD2202", "AGEMIN": "SD2203", "LENGTH": "SD2204",
        "PLANSUB": "SD2205", "RANDOM": "SD2206", "SEXPOP": "SD2207", "STOPRULE": "SD2208",
        "TBLIND": "SD2209", "TCNTRL": "SD2210", "TDIGRP": "SD2211", "TINDTP": "SD2212",
        "TITLE": "SD2213", "TPHASE": "SD2214", "TTYPE": "SD2215", "CURTRT": "SD2216",
        "OBJPRIM": "SD2217", "SPONSOR": "SD2218", "TRT": "SD2219", "REGID": "SD2221",
        "OUTMSPRI": "SD2222", "PCLAS": "SD2223", "FCNTRY": "SD2224", "ADAPT": "SD2225",
        "DCUTDTC": "SD2226", "DCUTDESC": "SD2227", "INTMODEL": "SD2228", "NARMS": "SD2229",
        "STYPE": "SD2230", "INTTYPE": "SD2231", "SSTDTC": "SD2232", "SENDTC": "SD2233",
        "ACTSUB": "SD2234", "HLTSUBJI": "SD2235", "SDTIGVER": "PIPE-008",
    }
)  # fmt: skip

# TS date parameters whose TSVAL must be an ISO 8601 date.
TS_DATES: Mapping[str, str] = MappingProxyType(
    {"DCUTDTC": "SD2245", "SSTDTC": "SD2247", "SENDTC": "SD2248"}
)


# The codelist each coded TS parameter's TSVAL is taken from (CDISC CT's Trial Summary
# codetable, SDTM CT 2025-03-28: the TSPARMCD -> value codelist pairs; SDTMIG 3.4 TS
# assumption 6: coded TSVAL values come from CT). A value outside it is CT2001/CT2002 on
# TSVAL, as for any variable with a codelist.
TS_VALUE_CODELISTS: Mapping[str, str] = MappingProxyType(
    {
        "TPHASE": "C66737", "TBLIND": "C66735", "TCNTRL": "C66785", "TTYPE": "C66739",
        "TINDTP": "C66736", "INTMODEL": "C99076", "INTTYPE": "C99078", "STYPE": "C99077",
        "SEXPOP": "C66732", "ADDON": "C66742", "ADAPT": "C66742", "RANDOM": "C66742",
        "HLTSUBJI": "C66742", "ROUTE": "C66729", "DOSU": "C71620", "DOSFRQ": "C71113",
        "SDTIGVER": "C160924", "SDTMVER": "C160923",
    }
)  # fmt: skip


def _ts_rules() -> list[RuleDef]:
    out = []
    for parm, rule_id in TS_PARAMETERS.items():
        if rule_id.startswith("PIPE"):
            continue
        # A TS without SSTDTC is an FDA technical rejection criterion (TRC 1734).
        severity: Severity = "Reject" if parm == "SSTDTC" else "Warning"
        source = f"{FDA_VR}; CDISC CG0287 / CORE-000740"
        if parm == "SSTDTC":
            source += " (PMDA: Warning); FDA Technical Rejection Criterion 1734"
        out.append(RuleDef(rule_id, severity, f"TS has no {parm} parameter record", source))
    for parm, rule_id in TS_DATES.items():
        out.append(RuleDef(rule_id, "Error", f"TS {parm}: TSVAL is not an ISO 8601 date", FDA_VR))
    return out


_RULES = [
    # --- presence and structure -------------------------------------------------------------
    RuleDef("SD1020", "Reject", "The SDTM has no DM dataset",
            f"{FDA_VR}; CDISC CG0368 / CORE-000581; FDA TRC 1736"),
    RuleDef("SD1115", "Reject", "The SDTM has no TS dataset",
            f"{FDA_VR} (PMDA: Error); FDA Technical Rejection Criterion 1734"),
    RuleDef("SD0001", "Warning", "Dataset has no records", f"{FDA_VR}; CDISC CG0408"),
    RuleDef("SD0056", "Reject", "An SDTMIG Required variable is not in the dataset",
            f"{FDA_VR}; CDISC CG0014 / CORE-000355"),
    RuleDef("SD0002", "Reject", "A Required variable is null",
            f"{FDA_VR}; CDISC CG0014 / CORE-000356"),
    RuleDef("SD0057", "Warning", "An SDTMIG Expected variable is not in the dataset",
            f"{FDA_VR}; CDISC CG0016 / CORE-000334"),
    RuleDef("SD1077", "Warning",
            "EPOCH, which FDA expects in subject-level observation datasets, is missing",
            f"{FDA_VR}; FDA Business Rule FDAB022"),
    RuleDef("SD0004", "Warning", "DOMAIN value differs from the dataset name",
            f"{FDA_VR}; CDISC CG0413 / CORE-000598"),
    # --- metadata: names, labels, lengths, characters ---------------------------------------
    RuleDef("CORE-000182", "Error",
            "SDTM variable name longer than 8 characters or not [A-Z][A-Z0-9_]*",
            "CDISC CORE-000182 (CG0310; the character check is the XPT v5 naming rule)"),
    RuleDef("CORE-000019", "Error", "SDTM variable label longer than 40 characters",
            "CDISC CORE-000019 (CG0311)"),
    RuleDef("SD0063", "Warning", "SDTM variable label differs from the SDTMIG label",
            f"{FDA_VR}; CDISC CG0303 / CORE-000398"),
    RuleDef("AD0013", "Error",
            "ADaM variable name longer than 8 characters or not [A-Z][A-Z0-9_]*", ADAM_VR),
    RuleDef("AD0016", "Error", "ADaM variable label longer than 40 characters", ADAM_VR),
    RuleDef("AD0018", "Warning", "ADaM variable label differs from the ADaMIG label", ADAM_VR),
    RuleDef("PIPE-001", "Error",
            "Character value or XPT column width over 200 bytes (SAS XPT v5 limit)",
            f"{PROJECT} (FDA Technical Conformance Guide: XPT v5 limits)"),
    RuleDef("PIPE-002", "Error",
            "Dataset name not 1-8 of [A-Z0-9] starting with a letter, or the file is not "
            "named after it in lower case",
            f"{PROJECT} (FDA Technical Conformance Guide: XPT v5 file naming)"),
    RuleDef("PIPE-003", "Error", "Dataset label empty or longer than 40 characters",
            f"{PROJECT} (SAS XPT v5 limit)"),
    RuleDef("SD1029", "Error",
            "Non-ASCII or non-printable character in a value (outside ASCII 32-126)",
            f"{FDA_VR}; FDA Business Rule FDAB041 (PMDA: Warning, and only for "
            "--TEST/--TESTCD/--PARM/--PARMCD/QNAM/QLABEL; here every character value, "
            "as XPT v5 holds ASCII only)"),
    # --- controlled terminology -------------------------------------------------------------
    RuleDef("CT2001", "Error", "Value not in the variable's non-extensible codelist",
            f"{FDA_VR} (PMDA: Reject); CDISC CG0020"),
    RuleDef("CT2002", "Warning", "Value not in the variable's extensible codelist",
            f"{FDA_VR}; CDISC CG0021"),
    # --- keys and identifiers ---------------------------------------------------------------
    RuleDef("SD0005", "Error", "--SEQ is not unique within the subject",
            f"{FDA_VR}; CDISC CG0028 / CORE-000544"),
    RuleDef("CORE-000154", "Error", "TSSEQ is not unique within TSPARMCD",
            "CDISC CORE-000154 (CG0268)"),
    RuleDef("SD0083", "Error", "USUBJID is not unique in DM",
            f"{FDA_VR}; CDISC CG0151 / CORE-000351"),
    RuleDef("SD0086", "Error",
            "SUPP-- record duplicates STUDYID, USUBJID, IDVAR, IDVARVAL and QNAM",
            f"{FDA_VR}; CDISC CG0411 / CORE-000203"),
    RuleDef("FDAB021", "Warning", "Natural key of the dataset (spec keys) is not unique",
            "FDA Business Rule FDAB021 (validator rules SD1117/SD1201 check it with fixed "
            "variable sets; here the study spec's keys, the Define-XML KeySequence)"),
    RuleDef("SD0064", "Reject", "USUBJID is not in DM", f"{FDA_VR}; CDISC CG0029 / CORE-000201"),
    RuleDef("SD0077", "Error", "SUPP-- record refers to a parent record that does not exist",
            FDA_VR),
    # --- dates, study days, epochs ----------------------------------------------------------
    RuleDef("SD0003", "Error", "--DTC value is not ISO 8601", FDA_VR),
    RuleDef("SD1086", "Error", "--DY does not match --DTC and DM.RFSTDTC",
            f"{FDA_VR}; CDISC CG0006 / CORE-000529"),
    RuleDef("SD0038", "Error", "Study day is 0 (there is no day 0)",
            f"{FDA_VR}; CDISC CG0006"),
    RuleDef("SD1084", "Warning",
            "--DY is null although --DTC and DM.RFSTDTC are complete dates",
            f"{FDA_VR}; CDISC CG0007"),
    RuleDef("SD1085", "Warning",
            "--DY is populated although --DTC or DM.RFSTDTC is not a complete date",
            f"{FDA_VR}; CDISC CG0007"),
    RuleDef("CORE-000321", "Warning",
            "--DTC is in the dataset but its study day --DY is not",
            "CDISC CORE-000321 (FDA Business Rule FB3201 / FDAB032)"),
    RuleDef("CORE-000328", "Warning",
            "--STDTC is in the dataset but its study day --STDY is not",
            "CDISC CORE-000328 (FDA Business Rule FB3202 / FDAB032)"),
    RuleDef("CORE-000776", "Warning",
            "--ENDTC is in the dataset but its study day --ENDY is not",
            "CDISC CORE-000776 (FDA Business Rule FB3203 / FDAB032)"),
    RuleDef("CORE-000720", "Warning", "--DTC falls after DM.RFPENDTC (end of participation)",
            "CDISC CORE-000720 (FDA Business Rule FB3406 / FDAB034)"),
    RuleDef("CORE-000952", "Warning", "--ENDTC falls after DM.RFPENDTC (end of participation)",
            "CDISC CORE-000952 (FDA Business Rule FB3407 / FDAB034)"),
    RuleDef("SD1015", "Error",
            "EPOCH value is not an epoch of the trial (TA.EPOCH, else the epochs the study "
            "spec defines)", f"{FDA_VR}; CDISC CG0009 / CORE-000271"),
    RuleDef("PIPE-012", "Error",
            "EPOCH is not the epoch of the SE element the subject was in on the record's "
            "date (--DTC, else --STDTC; either element's on a transition day)",
            f"{PROJECT} (SDTMIG 3.4 section 5.3 SE: the element transition dates identify "
            "the element a subject was in at each observation; FDA Business Rule FDAB022)"),
    # --- trial design: arms, elements, visits -----------------------------------------------
    RuleDef("SD0066", "Error", "DM.ARMCD is not an arm of TA",
            f"{FDA_VR}; CDISC CG0126, CG0293"),
    RuleDef("SD2002", "Error", "DM.ACTARMCD is not an arm of TA",
            f"{FDA_VR}; CDISC CG0124, CG0125, CG0512"),
    RuleDef("SD0067", "Error", "SE.ETCD is not an element of TE (UNPLAN aside)",
            f"{FDA_VR}; CDISC CG0414"),
    RuleDef("SD1014", "Error", "SE.TAETORD (with ETCD and EPOCH) does not match TA",
            f"{FDA_VR}; CDISC CG0418"),
    RuleDef("SD0065", "Warning", "USUBJID/VISIT/VISITNUM of a record is not a visit of SV",
            f"{FDA_VR}; CDISC CG0034"),
    RuleDef("SD1023", "Warning", "VISIT of a planned VISITNUM differs from TV's",
            FDA_VR),
    RuleDef("SD1017", "Warning", "SV planned visit (no SVUPDES) has a VISITNUM not in TV",
            f"{FDA_VR}; CDISC CG0213"),
    RuleDef("SD1018", "Warning", "SV planned visit's VISIT or VISITDY differs from TV's",
            f"{FDA_VR}; CDISC CG0215"),
    RuleDef("SD1019", "Warning", "SV VISITDY is populated for an unplanned visit (SVUPDES)",
            f"{FDA_VR}; CDISC CG0216"),
    RuleDef("PIPE-013", "Warning", "TS NARMS is not the number of arms in TA",
            f"{PROJECT} (SDTMIG 3.4 TS: NARMS, the planned number of arms, which TA lists)"),
    # --- death and adverse-event outcome ----------------------------------------------------
    RuleDef("SD1254", "Error", "AEOUT is FATAL but DM.DTHFL is not Y",
            f"{FDA_VR}; CDISC CG0134 / CORE-000254"),
    RuleDef("SD1255", "Error", "AESDTH is Y but DM.DTHFL is not Y",
            f"{FDA_VR}; CDISC CG0135 / CORE-000253"),
    RuleDef("SD0090", "Warning", "AEOUT is FATAL but AESDTH is not Y",
            f"{FDA_VR}; FDA Business Rule FDAB010"),
    RuleDef("SD0091", "Error", "AESDTH is Y but AEOUT is not FATAL",
            f"{FDA_VR}; FDA Business Rule FDAB010"),
    RuleDef("SD2004", "Error", "DM.DTHDTC is populated but DTHFL is not Y",
            f"{FDA_VR}; CDISC CG0435 / CORE-000007"),
    RuleDef("SD2005", "Warning", "DM.DTHFL is Y but DTHDTC is null",
            f"{FDA_VR}; FDA Business Rule FDAB006"),
    RuleDef("PIPE-005", "Error",
            "Fatal adverse event (AEOUT FATAL or AESDTH Y) starts or ends after DM.DTHDTC",
            PROJECT),
    RuleDef("PIPE-006", "Warning",
            "AEOUT says recovered/resolved but AEENDTC is null", PROJECT),
    RuleDef("PIPE-007", "Warning",
            "AEOUT says not (yet) recovered/resolved but AEENDTC is populated", PROJECT),
    # --- findings results -------------------------------------------------------------------
    RuleDef("SD1212", "Error", "--STRESN differs from the number in --STRESC",
            f"{FDA_VR}; FDA Business Rule FDAB031; CORE-000542 (FB3102)"),
    RuleDef("SD1122", "Error", "--STRESC holds a number but --STRESN is null",
            f"{FDA_VR}; FDA Business Rule FDAB031; CORE-000863 (FB3101)"),
    # --- trial summary ----------------------------------------------------------------------
    *_ts_rules(),
    RuleDef("PIPE-008", "Warning", "TS has no SDTIGVER parameter record",
            f"{PROJECT} (FDA expects SDTIGVER in TS; no validator rule number)"),
    RuleDef("CT2003", "Error",
            "Coded and decoded values do not have the same code in CDISC CT (TSPARM is not "
            "the decode of TSPARMCD: codelists C66738/C67152 pair by NCI code)", FDA_VR),
    RuleDef("PIPE-014", "Error",
            "TSVAL is null without a null flavour in TSVALNF, or both are given",
            f"{PROJECT} (SDTMIG 3.4 TS assumptions: TSVAL may be null only when TSVALNF "
            "holds the ISO 21090 null flavour; TSVALNF is null when TSVAL is given)"),
    RuleDef("PIPE-015", "Error",
            "TSVCDREF is CDISC CT but TSVALCD is not the NCI code of TSVAL in SDTM CT",
            f"{PROJECT} (SDTMIG 3.4 TS: TSVALCD is the code of TSVAL in the reference "
            "terminology TSVCDREF names)"),
    RuleDef("PIPE-016", "Error", "TA.ETCD is not an element of TE",
            f"{PROJECT} (SDTMIG 3.4 TA/TE: every element of an arm is defined in TE)"),
    RuleDef("PIPE-017", "Error", "IE.IETESTCD is not a criterion of TI",
            f"{PROJECT} (SDTMIG 3.4 IE: IETESTCD is the short name of a TI criterion)"),
    RuleDef("PIPE-018", "Error",
            "--LNKGRP of a record links to no record of another dataset of the subject",
            f"{PROJECT} (SDTMIG 3.4 section 8.3: a link group relates the records of "
            "datasets that share its value within USUBJID, e.g. RS responses and the LB "
            "results they rest on)"),
    RuleDef("PIPE-019", "Error",
            "RELREC does not resolve: RDOMAIN is no dataset of the run, IDVAR no variable "
            "of it, IDVAR/IDVARVAL no record of the subject, or a dataset-level "
            "relationship's ONE side repeats a value or has no record on its MANY side",
            f"{PROJECT} (SDTMIG 3.4 sections 8.2 and 8.3: RELREC identifies records of "
            "RDOMAIN by IDVAR and IDVARVAL within USUBJID; a relationship between datasets "
            "names each dataset's key in IDVAR, USUBJID and IDVARVAL null, RELTYPE ONE or "
            "MANY)"),
    # --- Define-XML against the data --------------------------------------------------------
    RuleDef("SD0061", "Error", "Dataset described in define.xml has no data file",
            f"{FDA_VR}; FDA Business Rule FDAB035"),
    RuleDef("SD1063", "Error", "Dataset file is not described in define.xml",
            f"{FDA_VR}; FDA Business Rule FDAB035"),
    RuleDef("SD0054", "Error", "Variable in define.xml is not in the dataset",
            f"{FDA_VR}; FDA Business Rule FDAB035"),
    RuleDef("SD0060", "Error", "Variable in the dataset is not in define.xml",
            f"{FDA_VR}; FDA Business Rule FDAB035"),
    RuleDef("SD1324", "Error", "Variable label in define.xml differs from the dataset's",
            f"{FDA_VR}; FDA Business Rule FDAB035"),
    RuleDef("SD1325", "Error", "Dataset description in define.xml differs from the dataset's",
            f"{FDA_VR}; FDA Business Rule FDAB035"),
    RuleDef("SD0059", "Warning",
            "define.xml DataType does not match the variable type (integer/float = Num)",
            f"{FDA_VR}; FDA Business Rule FDAB035"),
    RuleDef("PIPE-004", "Error",
            "define.xml Length of a text variable differs from the XPT column width",
            f"{PROJECT} (FDAB035: define.xml must reflect the data)"),
    # --- ADaM -------------------------------------------------------------------------------
    RuleDef("AD0001", "Reject", "ADaM datasets without ADSL", ADAM_VR),
    RuleDef("AD0047", "Error", "An ADaMIG Required variable is not in the dataset", ADAM_VR),
    RuleDef("AD0054", "Error", "USUBJID is not unique in ADSL (one record per subject)",
            ADAM_VR),
    RuleDef("AD0053", "Error", "STUDYID/USUBJID of an ADaM record is not in SDTM DM", ADAM_VR),
    RuleDef("AD0048", "Error", "ADSL has no subject-level population flag (*FL)", ADAM_VR),
    RuleDef("AD0019", "Error", "ADSL population flag is null", ADAM_VR),
    RuleDef("AD0046", "Error", "ADaM study day (*DY) is 0", ADAM_VR),
    RuleDef("AD0169", "Error", "CNSR is not an integer >= 0", ADAM_VR),
    RuleDef("AD0170", "Error", "STARTDT is present but CNSR is not", ADAM_VR),
    RuleDef("PIPE-009", "Error",
            "Time-to-event AVAL (in days) differs from ADT - STARTDT + 1", PROJECT),
    RuleDef("PIPE-011", "Warning",
            "Time-to-event ADT (event or censoring) is before STARTDT: AVAL is 0 or less",
            PROJECT),
    # --- the run itself ---------------------------------------------------------------------
    RuleDef("PIPE-010", "Error",
            "A dataset, define.xml or the study specs could not be read; the checks that "
            "need it were not made", PROJECT),
]  # fmt: skip

RULES: Mapping[str, RuleDef] = MappingProxyType({r.id: r for r in _RULES})
if len(RULES) != len(_RULES):  # pragma: no cover - a catalogue typo
    raise RuntimeError("conformance rule IDs are not unique")
