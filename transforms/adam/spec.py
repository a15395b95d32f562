"""ADaM dataset specs: the metadata (``sdtm_specs/<STUDY>/adam/<ds>.yaml``) that orders,
labels and types an analysis dataset, and the derivation steps that build it.

```yaml
dataset: ADSL
label: Subject-Level Analysis Dataset
structure: ADSL            # ADSL | BDS | TTE | OCCDS
keys: [STUDYID, USUBJID]
derivations:               # the steps, verbs of transforms/adam/vocabulary.py, in order
  - {verb: records, from: {dataset: DM}}
  - {verb: date, var: RFICDT, dtc: RFICDTC}
variables:                 # output order
  - {name: RFICDT, origin: Derived}   # its method: what the step that made it says
  - {name: AGE, origin: Predecessor, source: DM.AGE}
```
A Derived variable's Define-XML method is the description of the steps that derive it
(each verb describes itself); a spec writes a ``method`` only for a variable no step
describes.
A variable the ADaMIG 1.3 table holds for the structure or for ADSL (``TRT01P`` matches
``TRTxxP``) takes its label and type from there; any other must give ``label`` and
``type``. A date variable (``*DT``) is numeric with a ``DATE9.`` format unless the spec
says otherwise; a numeric variable that only holds whole numbers says
``data_type: integer`` (Define-XML, Dataset-JSON).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from transforms import standards, yamlfile
from transforms.adam import vocabulary
from transforms.adam.vocabulary import Verb, Where
from transforms.specs import ORIGINS, SpecError
from transforms.yamlfile import Entry

STRUCTURES = {
    "ADSL": ("SUBJECT LEVEL ANALYSIS DATASET", "Subject-Level Analysis Dataset"),
    "BDS": ("BASIC DATA STRUCTURE", "Basic Data Structure"),
    "TTE": ("BASIC DATA STRUCTURE", "Basic Data Structure"),
    "OCCDS": ("OCCURRENCE DATA STRUCTURE", None),
}
NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")


@dataclass(frozen=True)
class AdamVariable:
    name: str
    label: str
    type: str  # Char | Num
    origin: str
    format: str | None = None
    length: int | None = None
    source: str | None = None  # Predecessor: DOMAIN.VAR
    method: str | None = None  # Derived: the derivation in words (Define-XML MethodDef)
    codelist: str | None = None  # an NCI C-code
    integer: bool = False  # a Num that only holds whole numbers
    comment: str | None = None  # what a reviewer needs beyond the method (Define CommentDef)

    @property
    def data_type(self) -> str:
        """The Define-XML / Dataset-JSON data type."""
        if self.type == "Char":
            return "text"
        if self.format and self.format.upper().startswith("DATE"):
            return "date"
        return "integer" if self.integer else "float"


@dataclass(frozen=True)
class AdamSpec:
    name: str
    label: str
    structure: str
    class_: str
    keys: tuple[str, ...]
    variables: tuple[AdamVariable, ...]
    derivations: tuple[Verb, ...]
    path: Path
    comment: str | None = None  # about the dataset as a whole (Define CommentDef)

    def names(self) -> list[str]:
        return [v.name for v in self.variables]


_PLACEHOLDER = re.compile(r"xx|zz|(?<=[A-Z])[yw](?=[A-Z]|$)")


@cache
def _ig_patterns(structure: str) -> tuple[tuple[re.Pattern[str], tuple[str, ...], str, str], ...]:
    """(name pattern, its placeholders, label, type) of the ADaMIG variables of a structure;
    placeholders xx / zz (two digits) and y / w (one digit) become groups."""
    table = standards.ig_variables("ADAMIG")
    table = table[table["Data Structure Name"] == structure]
    out = []
    for name, label, vtype in zip(
        table["Variable Name"], table["Variable Label"], table["Type"], strict=True
    ):
        if "*" in name:  # "*DT": any date, its label a pattern; the spec names it
            continue
        holders = tuple(m.group() for m in _PLACEHOLDER.finditer(name))
        pattern = _PLACEHOLDER.sub(lambda m: r"(\d\d)" if len(m.group()) == 2 else r"(\d)", name)
        out.append((re.compile(f"^{pattern}$"), holders, label, vtype))
    return tuple(out)


def ig_lookup(structure: str, name: str) -> tuple[str, str] | None:
    """(label, type) of an ADaMIG variable of the structure, else of ADSL (whose variables
    other datasets copy), or None; placeholders in the label take the name's digits
    (TRT01P: "Planned Treatment for Period 01")."""
    for ig_name in (STRUCTURES[structure][1], STRUCTURES["ADSL"][1]):
        for pattern, holders, label, vtype in _ig_patterns(ig_name) if ig_name else ():
            if match := pattern.match(name):
                for holder, digits in zip(holders, match.groups(), strict=True):
                    label = re.sub(rf"\b{holder}\b", digits, label, count=1)
                return label, vtype
    return None


def _variable(
    raw: Mapping[str, Any], structure: str, entry: Entry, described: Mapping[str, str]
) -> AdamVariable:
    """An ADaM spec's variable entry; its errors name the entry and the variable."""
    yamlfile.keys(
        raw,
        entry,
        {"name", "origin"},
        {
            "label", "type", "format", "length", "source", "method", "codelist", "data_type",
            "comment",
        },
    )  # fmt: skip
    name = str(raw["name"])
    if not NAME.match(name):
        raise (entry / "name").error(
            f"{name}: variable names are 1-8 of A-Z, 0-9, _ starting with a letter"
        )
    ig = ig_lookup(structure, name)
    label = raw.get("label") or (ig[0] if ig else None)
    vtype = raw.get("type") or (ig[1] if ig else None)
    if label is None or vtype is None:
        raise entry.error(f"{name}: not an ADaMIG variable of {structure}: give label and type")
    if vtype not in ("Char", "Num"):
        raise (entry / "type").error(f"{name}: type must be Char or Num, not {vtype!r}")
    if len(str(label).encode()) > 40 or not str(label).isascii():
        raise (entry / "label").error(f"{name}: label {label!r} is over 40 bytes or not ASCII")
    origin = str(raw["origin"])
    if origin not in ORIGINS:
        raise (entry / "origin").error(f"{name}: origin {origin!r} not one of {ORIGINS}")
    if origin == "Predecessor" and not re.match(
        r"^[A-Z]{2,8}\.[A-Z][A-Z0-9]*$", str(raw.get("source"))
    ):
        raise (entry / "source").error(
            f"{name}: a Predecessor gives its source as DATASET.VARIABLE"
        )
    method = raw.get("method")
    if method and name in described:
        raise (entry / "method").error(
            f"{name}: the method is the derivation's own description; write none here"
        )
    method = method or (described.get(name) if origin == "Derived" else None)
    if origin == "Derived" and not method:
        raise (entry / "method").error(
            f"{name}: a Derived variable says how (method), or a step derives it"
        )
    data_type = raw.get("data_type", "float" if vtype == "Num" else "text")
    if data_type not in ("text", "integer", "float", "date"):
        raise (entry / "data_type").error(f"{name}: must be text, integer, float or date")
    fmt = raw.get("format")
    if fmt is None and vtype == "Num" and name.endswith("DT"):
        fmt = "DATE9."
    return AdamVariable(
        name=name,
        label=str(label),
        type=str(vtype),
        origin=origin,
        format=None if fmt is None else str(fmt),
        length=raw.get("length"),
        source=raw.get("source"),
        method=method,
        codelist=raw.get("codelist"),
        integer=data_type == "integer",
        comment=None if raw.get("comment") is None else str(raw["comment"]),
    )


def load_adam_spec(path: Path) -> AdamSpec:
    """Load and check one ADaM dataset spec."""
    doc = Entry(path)
    raw = yamlfile.load(path)
    yamlfile.keys(
        raw,
        doc,
        {"dataset", "label", "structure", "keys", "variables", "derivations"},
        {"reads", "comment"},
    )
    name = str(raw["dataset"])
    if not NAME.match(name) or not name.startswith("AD"):
        raise (doc / "dataset").error(
            f"{name}: an ADaM dataset name starts with AD and has at most 8 chars"
        )
    structure = str(raw["structure"])
    if structure not in STRUCTURES:
        raise (doc / "structure").error(f"must be one of {sorted(STRUCTURES)}")
    steps = vocabulary.parse_steps(raw["derivations"], Where(str(path), name))
    described: dict[str, str] = {}
    for step in steps:
        for var, text in step.describe_after(described).items():
            described[var] = f"{described[var]}; {text}" if var in described else text
    variables = tuple(
        _variable(
            yamlfile.mapping(v, doc / "variables" / i), structure, doc / "variables" / i, described
        )
        for i, v in enumerate(yamlfile.sequence(raw["variables"] or [], doc / "variables"))
    )
    names = [v.name for v in variables]
    if dup := sorted({n for n in names if names.count(n) > 1}):
        raise (doc / "variables").error(f"variables given twice: {dup}")
    keys = tuple(str(k) for k in yamlfile.sequence(raw["keys"], doc / "keys"))
    if bad := [k for k in keys if k not in names]:
        raise (doc / "keys").error(f"{bad} are not variables of the dataset")
    return AdamSpec(
        name=name,
        label=str(raw["label"]),
        structure=structure,
        class_=STRUCTURES[structure][0],
        keys=keys,
        variables=variables,
        derivations=steps,
        path=path,
        comment=None if raw.get("comment") is None else str(raw["comment"]),
    )


def conform(data: pd.DataFrame, spec: AdamSpec) -> pd.DataFrame:
    """The derived frame in spec order and types; a variable the derivation did not make,
    or made but the spec does not list, is a spec/derivation mismatch (an error)."""
    missing = [n for n in spec.names() if n not in data.columns]
    if missing:
        raise SpecError(f"{spec.path}: {spec.name}: the derivation made no {missing}")
    out = data[spec.names()].copy()
    for var in spec.variables:
        if var.type == "Char":
            text = out[var.name].astype("string").str.strip()
            out[var.name] = text.mask(text == "")
        elif var.format and var.format.upper().startswith("DATE"):
            out[var.name] = pd.to_datetime(out[var.name]).astype("datetime64[s]")
        else:
            out[var.name] = pd.to_numeric(out[var.name]).astype("float64")
    dup = out.duplicated(list(spec.keys), keep=False)
    if dup.any():
        first = out.loc[dup, list(spec.keys)].head(3).to_dict("records")
        raise SpecError(f"{spec.name}: key {list(spec.keys)} not unique, e.g. {first}")
    return out.sort_values(list(spec.keys), kind="stable").reset_index(drop=True)
