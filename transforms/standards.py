"""The CDISC standards at run time: SDTMIG/ADaMIG tables and NCI controlled terminology.

Reads only the copies in ``sdtm_specs/_standards`` (``$CDISC_SPECS_DIR/_standards`` when
set), made by ``scripts/import_standards.py``; see ``_standards/SOURCES.md``. Each table is
read once per folder and cached. Text is read as-is: empty cells are ``""``, never NA
(``NA`` is a term of the NY codelist).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import pandas as pd

from transforms.studies import specs_dir

__all__ = [
    "Codelist",
    "IgDataset",
    "IgVariable",
    "Term",
    "Terminology",
    "UnknownCodelistError",
    "controlled_terms",
    "ig_dataset",
    "ig_variable",
    "ig_variables",
    "ig_variables_of",
    "nci_terms",
    "standards_dir",
]

Standard = Literal["SDTMIG", "ADAMIG"]
Package = Literal["SDTM", "ADaM", "Define-XML"]

IG_VARIABLES = {"SDTMIG": "sdtmig-3.4/Variables.csv", "ADAMIG": "adamig-1.3/Variables.csv"}
SDTMIG_DATASETS = "sdtmig-3.4/Datasets.csv"
SDTM_CT = "ct/sdtm_ct_2025-03-28.csv"  # the subset, already in TERM_COLUMNS form
NCI_CT = {"ADaM": "ct/adam_ct_2025-09-26.csv", "Define-XML": "ct/define-xml_ct_2025-09-26.csv"}

# NCI CT column -> column of the term table (one row per term, codelist attributes repeated).
NCI_COLUMNS = {
    "Codelist Code": "codelist_code",
    "Codelist Name": "codelist_name",
    "Codelist Extensible (Yes/No)": "extensible",
    "Code": "term_code",
    "CDISC Submission Value": "submission_value",
    "CDISC Synonym(s)": "synonyms",
    "NCI Preferred Term": "preferred_term",
}
TERM_COLUMNS = (
    "codelist_code",
    "codelist_name",
    "codelist_submission_value",
    "extensible",
    "term_code",
    "submission_value",
    "synonyms",
    "preferred_term",
)


def standards_dir() -> Path:
    """The ``_standards`` folder of the specs folder in use."""
    return specs_dir() / "_standards"


def _read_csv(path: Path) -> pd.DataFrame:
    """A CDISC/NCI CSV table as text, empty cells as ``""``."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def nci_terms(nci: pd.DataFrame) -> pd.DataFrame:
    """NCI CT rows (codelist rows and term rows) as a term table in ``TERM_COLUMNS``.

    A codelist row has an empty "Codelist Code"; its terms carry its code there. The
    result has one row per term, sorted by codelist code then submission value.
    """
    is_codelist = nci["Codelist Code"] == ""
    codelists = nci.loc[is_codelist].set_index("Code")
    terms = nci.loc[~is_codelist, list(NCI_COLUMNS)].rename(columns=NCI_COLUMNS)
    code = terms["codelist_code"]
    terms["codelist_name"] = code.map(codelists["Codelist Name"])
    terms["extensible"] = code.map(codelists["Codelist Extensible (Yes/No)"])
    terms["codelist_submission_value"] = code.map(codelists["CDISC Submission Value"])
    if orphans := sorted(set(code[terms["extensible"].isna()])):
        raise ValueError(f"terms of codelists with no codelist row: {orphans}")
    return (
        terms.loc[:, list(TERM_COLUMNS)]
        .sort_values(["codelist_code", "submission_value", "term_code"], kind="stable")
        .reset_index(drop=True)
    )


# --- implementation guides ---------------------------------------------------------------


@dataclass(frozen=True)
class IgVariable:
    """One variable of an SDTMIG dataset."""

    domain: str  # the IG dataset name (SUPPQUAL for every SUPP--)
    name: str
    label: str
    type: str  # Char | Num
    order: int  # position in the dataset, from 1
    core: str  # Req | Exp | Perm
    codelists: tuple[str, ...]  # NCI codelist C-codes, in IG order
    role: str


@dataclass(frozen=True)
class IgDataset:
    """One SDTMIG dataset: name, label, class and structure."""

    name: str
    label: str
    class_: str
    structure: str


def _ig_name(domain: str) -> str:
    """The IG dataset name of a domain: SUPPDM, SUPPAE... are all SUPPQUAL."""
    domain = domain.upper()
    return "SUPPQUAL" if domain.startswith("SUPP") and len(domain) > 4 else domain


@cache
def _ig_table(root: Path, standard: Standard) -> pd.DataFrame:
    table = _read_csv(root / IG_VARIABLES[standard])
    if standard == "SDTMIG":
        table["Variable Order"] = table["Variable Order"].astype("int64")
    return table


@cache
def _sdtmig_variables(root: Path) -> Mapping[str, tuple[IgVariable, ...]]:
    table = _ig_table(root, "SDTMIG").sort_values(["Dataset Name", "Variable Order"])
    variables = [
        IgVariable(domain, name, label, type_, int(order), core, tuple(codes), role)
        for domain, name, label, type_, order, core, codes, role in zip(
            table["Dataset Name"],
            table["Variable Name"],
            table["Variable Label"],
            table["Type"],
            table["Variable Order"],
            table["Core"],
            table["CDISC CT Codelist Code(s)"].str.findall(r"C\d+"),
            table["Role"],
            strict=True,
        )
    ]
    by_domain: dict[str, list[IgVariable]] = {}
    for variable in variables:
        by_domain.setdefault(variable.domain, []).append(variable)
    return MappingProxyType({d: tuple(vs) for d, vs in by_domain.items()})


@cache
def _sdtmig_index(root: Path) -> Mapping[tuple[str, str], IgVariable]:
    variables = _sdtmig_variables(root).values()
    return MappingProxyType({(v.domain, v.name): v for vs in variables for v in vs})


@cache
def _sdtmig_datasets(root: Path) -> Mapping[str, IgDataset]:
    table = _read_csv(root / SDTMIG_DATASETS)
    return MappingProxyType(
        {
            name: IgDataset(name, label, class_, structure)
            for name, label, class_, structure in zip(
                table["Dataset Name"],
                table["Dataset Label"],
                table["Class"],
                table["Structure"],
                strict=True,
            )
        }
    )


def ig_variables(standard: Standard) -> pd.DataFrame:
    """The whole IG variable table as published (a copy; SDTMIG "Variable Order" as int)."""
    return _ig_table(standards_dir(), standard).copy()


def ig_variables_of(domain: str) -> tuple[IgVariable, ...]:
    """The SDTMIG variables of a dataset in IG order; empty for an unknown dataset."""
    return _sdtmig_variables(standards_dir()).get(_ig_name(domain), ())


def ig_variable(domain: str, name: str) -> IgVariable | None:
    """An SDTMIG variable (SUPPDM etc. read as SUPPQUAL), or None if the IG has no such one."""
    return _sdtmig_index(standards_dir()).get((_ig_name(domain), name.upper()))


def _generic(domain: str, name: str) -> str:
    """A variable named as the SDTM model does across domains: AEDTC is --DTC in AE."""
    return "--" + name[len(domain) :] if len(domain) == 2 and name.startswith(domain) else name


@cache
def _sdtmig_roles(root: Path) -> Mapping[tuple[str, str], frozenset[str]]:
    """Per (class, generic variable), and per ("", generic variable) over every class, the
    roles the SDTMIG domain tables give it (--DTC: Timing in every Events domain)."""
    classes = {name: d.class_ for name, d in _sdtmig_datasets(root).items()}
    roles: dict[tuple[str, str], set[str]] = {}
    for domain, variables in _sdtmig_variables(root).items():
        for v in variables:
            generic = _generic(domain, v.name)
            for key in ((classes.get(domain, ""), generic), ("", generic)):
                roles.setdefault(key, set()).add(v.role)
    return MappingProxyType({k: frozenset(r) for k, r in roles.items()})


def ig_role(domain: str, name: str) -> str | None:
    """The SDTM role of a variable in a dataset: the domain table's, else, for a variable the
    table lacks (AEDTC, VISITNUM in DS), the one role the IG gives the same general-
    observation-class variable (--DTC, VISITNUM) in the domains of the dataset's class, or
    failing that in every domain; None when the IG does not settle it."""
    variable = ig_variable(domain, name)
    if variable is not None and variable.role:
        return variable.role
    root = standards_dir()
    dataset = ig_dataset(domain)
    generic = _generic(_ig_name(domain), name.upper())
    for key in ((dataset.class_ if dataset else "", generic), ("", generic)):
        found = _sdtmig_roles(root).get(key, frozenset())
        if len(found) == 1:
            return next(iter(found))
    return None


def ig_dataset(name: str) -> IgDataset | None:
    """An SDTMIG dataset (SUPPDM etc. read as SUPPQUAL), or None if not in the IG."""
    return _sdtmig_datasets(standards_dir()).get(_ig_name(name))


# --- controlled terminology --------------------------------------------------------------


class UnknownCodelistError(KeyError):
    """A codelist C-code that the terminology in the repo does not hold."""

    def __init__(self, code: str, package: str) -> None:
        super().__init__(code)
        self.code = code
        where = f"the {package} controlled terminology in sdtm_specs/_standards"
        if package == "SDTM":
            where += " (a subset: add the code to scripts/import_standards.py and re-run it)"
        self.message = f"codelist {code!r} is not in {where}"

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Term:
    """One term of a codelist."""

    code: str
    submission_value: str
    synonyms: tuple[str, ...]
    preferred_term: str


@dataclass  # not frozen: transforms.sdtm.algorithms.Codelist declares settable members
class Codelist:
    """An NCI codelist: C-code, name, short name (e.g. SEX) and terms by submission value."""

    code: str
    name: str
    short_name: str
    extensible: bool
    terms: Mapping[str, Term] = field(repr=False)

    def lookup(self, value: str) -> Term | None:
        """The term whose submission value is exactly ``value`` (case-sensitive)."""
        return self.terms.get(value)

    def find_by_synonym(self, value: str) -> Term | None:
        """The term ``value`` (trimmed) names, as submission value or synonym, in any case.

        Tried in turn: the exact submission value, an exact synonym, then submission values
        and synonyms ignoring case. The first step that matches decides; if it matches
        several terms the answer is None (LBTESTCD: "Amphetamine" names AMPEA and AMPHET,
        "egfr" names EGFR and GFRE; "eGFR" is exactly a synonym of GFRE).
        """
        text = value.strip()
        if (term := self.terms.get(text)) is not None:
            return term
        synonyms, folded = self._indexes
        if text in synonyms:
            return synonyms[text]
        return folded.get(text.casefold())

    @cached_property
    def _indexes(self) -> tuple[dict[str, Term | None], dict[str, Term | None]]:
        """Exact synonym, and case-folded submission value or synonym -> term (None: several)."""
        synonyms: dict[str, Term | None] = {}
        folded: dict[str, Term | None] = {}
        for term in self.terms.values():
            for key in term.synonyms:
                _index(synonyms, key, term)
            for key in {term.submission_value, *term.synonyms}:
                _index(folded, key.casefold(), term)
        return synonyms, folded


def _index(index: dict[str, Term | None], key: str, term: Term) -> None:
    """Map ``key`` to ``term``, or to None once a second term claims it."""
    index[key] = term if index.get(key, term) is term else None


@dataclass(frozen=True)
class Terminology:
    """The codelists of one CT package, by C-code."""

    package: str
    codelists: Mapping[str, Codelist] = field(repr=False)

    def codelist(self, code: str) -> Codelist:
        """The codelist with this C-code; :class:`UnknownCodelistError` if absent."""
        if ";" in code:
            return self._union(tuple(c.strip() for c in code.split(";")))
        try:
            return self.codelists[code]
        except KeyError:
            raise UnknownCodelistError(code, self.package) from None

    def by_code(self, code: str) -> tuple[Term, ...]:
        """The terms with this NCI code, in any codelist of the package (() if none)."""
        return self._by_code.get(code, ())

    @cached_property
    def _by_code(self) -> dict[str, tuple[Term, ...]]:
        found: dict[str, list[Term]] = {}
        for codelist in self.codelists.values():
            for term in codelist.terms.values():
                found.setdefault(term.code, []).append(term)
        return {code: tuple(terms) for code, terms in found.items()}

    def _union(self, codes: tuple[str, ...]) -> Codelist:
        """Several codelists as one (IG variables such as DSDECOD name several)."""
        parts = [self.codelist(c) for c in codes]
        terms: dict[str, Term] = {}
        for part in reversed(parts):
            terms.update(part.terms)
        return Codelist(
            code="; ".join(codes),
            name=" / ".join(p.name for p in parts),
            short_name=" / ".join(p.short_name for p in parts),
            extensible=any(p.extensible for p in parts),
            terms=terms,
        )


@cache
def _terminology(root: Path, package: Package) -> Terminology:
    if package == "SDTM":
        table = _read_csv(root / SDTM_CT)
    else:
        table = nci_terms(_read_csv(root / NCI_CT[package]))
    codelists: dict[str, Codelist] = {}
    for code, rows in table.groupby("codelist_code", sort=False):
        first = rows.iloc[0]
        terms = {
            value: Term(term_code, value, tuple(filter(None, synonyms.split("; "))), pref)
            for term_code, value, synonyms, pref in zip(
                rows["term_code"],
                rows["submission_value"],
                rows["synonyms"],
                rows["preferred_term"],
                strict=True,
            )
        }
        codelists[str(code)] = Codelist(
            code=str(code),
            name=str(first["codelist_name"]),
            short_name=str(first["codelist_submission_value"]),
            extensible=first["extensible"] == "Yes",
            terms=MappingProxyType(terms),
        )
    return Terminology(package, MappingProxyType(codelists))


def controlled_terms(package: Package = "SDTM") -> Terminology:
    """NCI controlled terminology: the SDTM subset, or the full ADaM or Define-XML package."""
    return _terminology(standards_dir(), package)
