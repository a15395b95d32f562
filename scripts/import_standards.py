"""Copy the CDISC standards the pipeline needs into sdtm_specs/_standards.

    python scripts/import_standards.py [--shared ../shared] [--out sdtm_specs/_standards]

Reads ``<shared>/standards`` (read-only) and writes, deterministically (a re-run gives
byte-identical files):

- the SDTMIG 3.4 and ADaMIG 1.3 tables and the ADaM and Define-XML CT CSVs, verbatim
  (a UTF-8 byte-order mark is dropped);
- ``ct/sdtm_ct_2025-03-28.csv``: the NCI SDTM CT codelists (all their terms) that the
  SDTMIG variables of ``SDTM_DOMAINS`` reference, plus ``EXTRA_CODELISTS``;
- ``ct/README.md`` and ``SOURCES.md``: where each file came from, with SHA-256 sums.

The pipeline reads only these copies, never the shared tree.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from transforms.standards import SDTM_CT, TERM_COLUMNS, nci_terms

ROOT = Path(__file__).resolve().parents[1]
BOM = b"\xef\xbb\xbf"

# source under <shared>/standards -> copy under the output folder
VERBATIM = {
    "sdtmig-3.4/Variables.csv": "sdtmig-3.4/Variables.csv",
    "sdtmig-3.4/Datasets.csv": "sdtmig-3.4/Datasets.csv",
    "adamig-1.3/Variables.csv": "adamig-1.3/Variables.csv",
    "adamig-1.3/DataStructures.csv": "adamig-1.3/DataStructures.csv",
    "ct/ADaM_CT_2025-09-26.csv": "ct/adam_ct_2025-09-26.csv",
    "ct/Define-XML_CT_2025-09-26.csv": "ct/define-xml_ct_2025-09-26.csv",
}
SDTM_CT_SOURCE = "ct/SDTM_Terminology_2025-03-28.txt"
SDTM_CT_RELEASE = "2025-03-28"
SDTMIG_VARIABLES = "sdtmig-3.4/Variables.csv"

# Datasets whose SDTMIG variables bring their codelists into the subset.
SDTM_DOMAINS = (
    "DM",
    "EX",
    "AE",
    "LB",
    "RS",
    "DS",
    "TS",
    "SUPPQUAL",
    "VS",
    "MH",
    "CM",
    "SS",
    "TU",
    "TR",
    "SV",
    "SE",
    "TA",
    "TE",
    "TV",
    "TI",
    "RELREC",
    "DD",
    "PR",
    "IE",
    "MB",
    "IS",
    "GF",
    "RP",
)
# Codelists an IG variable of those datasets names that no spec uses, left out because of
# their size: C-code -> why.
SKIPPED_CODELISTS = {
    "C85491": "MICROORG (1685 terms): one of IS.ISBDAGNT's two codelists; the spec gives "
    "ISBDAGNT no codelist",
}
# Codelists used through value-level metadata (DSDECOD by DSCAT, LB/RS tests and results)
# or TS parameter values, whether or not the IG table names them: C-code -> short name
# (the NCI submission value of the codelist, checked against the NCI file).
EXTRA_CODELISTS = {
    "C66731": "SEX",
    "C74457": "RACE",
    "C66790": "ETHNIC",
    "C66742": "NY",
    "C66781": "AGEU",
    "C66769": "AESEV",
    "C66768": "OUT",
    "C66767": "ACN",
    "C66729": "ROUTE",
    "C66726": "FRM",
    "C71113": "FREQ",
    "C71620": "UNIT",
    "C99079": "EPOCH",
    "C74558": "DSCAT",
    "C114118": "PROTMLST",
    "C66727": "NCOMPLT",
    "C150811": "OTHEVENT",
    "C78736": "NRIND",
    "C66789": "ND",
    "C78734": "SPECTYPE",
    "C65047": "LBTESTCD",
    "C67154": "LBTEST",
    "C85492": "METHOD",
    "C96782": "ONCRTSCD",
    "C96781": "ONCRTS",
    "C96785": "ONCRSR",
    "C124298": "ONCRSCAT",
    "C78735": "EVAL",
    # ECOG performance status as an RS clinical classification (RSTESTCD/RSTEST, the
    # original and standard results of ECOG101)
    "C101815": "ECOG1TC",
    "C101816": "ECOG1TN",
    "C179943": "ECOG101OR",
    "C179944": "ECOG101STR",
    "C96777": "MEDEVAL",
    "C66738": "TSPARMCD",
    "C67152": "TSPARM",
    "C66737": "TPHASE",
    "C66735": "TBLIND",
    "C66739": "TTYPE",
    "C66736": "TINDTP",
    "C66785": "TCNTRL",
    "C99076": "INTMODEL",
    "C99078": "INTTYPE",
    "C99077": "STYPE",
    "C66732": "SEXPOP",
    "C160924": "SDTMIGRS",  # TS SDTIGVER
    "C160923": "SDTMVRS",  # TS SDTMVER
}


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file, recorded in SOURCES.md."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_verbatim(source: Path, target: Path) -> None:
    """Copy a file byte for byte, minus a leading UTF-8 byte-order mark."""
    data = source.read_bytes()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data.removeprefix(BOM))


def read_nci_tsv(path: Path) -> pd.DataFrame:
    """The NCI CT text file: tab-separated, unquoted (definitions hold bare quotes)."""
    return pd.read_csv(
        path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE, encoding="utf-8"
    )


def referenced_codelists(variables: pd.DataFrame, domains: Sequence[str]) -> set[str]:
    """C-codes in "CDISC CT Codelist Code(s)" (one or several, "; "-separated) of ``domains``,
    less ``SKIPPED_CODELISTS``."""
    cells = variables.loc[variables["Dataset Name"].isin(domains), "CDISC CT Codelist Code(s)"]
    return set(cells.str.findall(r"C\d+").explode().dropna()) - set(SKIPPED_CODELISTS)


def ct_subset(nci: pd.DataFrame, codes: set[str], short_names: Mapping[str, str]) -> pd.DataFrame:
    """The term table of ``codes``; every code must be an NCI codelist with terms, and
    every short name given must be that codelist's submission value."""
    codelists = nci.loc[nci["Codelist Code"] == ""].set_index("Code")["CDISC Submission Value"]
    if missing := sorted(codes - set(codelists.index)):
        raise SystemExit(f"not codelists of the NCI file: {missing}")
    if wrong := {c: n for c, n in short_names.items() if codelists[c] != n}:
        found = {c: codelists[c] for c in wrong}
        raise SystemExit(f"short names {wrong} do not match the NCI file: {found}")
    is_codelist = nci["Codelist Code"] == ""
    rows = (is_codelist & nci["Code"].isin(codes)) | nci["Codelist Code"].isin(codes)
    subset = nci_terms(nci.loc[rows])
    if empty := sorted(codes - set(subset["codelist_code"])):
        raise SystemExit(f"codelists without terms: {empty}")
    return subset


def write_table(frame: pd.DataFrame, target: Path) -> None:
    """CSV, UTF-8, "\\n" line ends, minimal quoting."""
    target.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(target, index=False, lineterminator="\n", encoding="utf-8")


def _ct_readme(subset: pd.DataFrame, source_sum: str) -> str:
    codelists = subset.groupby("codelist_code", sort=False).agg(
        short_name=("codelist_submission_value", "first"),
        extensible=("extensible", "first"),
        terms=("term_code", "size"),
        name=("codelist_name", "first"),
    )
    extra = ", ".join(f"{c} {n}" for c, n in EXTRA_CODELISTS.items())
    lines = [
        "# Controlled terminology",
        "",
        f"`{Path(SDTM_CT).name}`: a subset of NCI SDTM Controlled Terminology, release "
        f"{SDTM_CT_RELEASE} (`{SDTM_CT_SOURCE}`, SHA-256 `{source_sum}`), made by "
        "`scripts/import_standards.py`; do not edit it by hand, re-run the script.",
        "",
        "It holds every codelist, with all its terms, that the SDTMIG 3.4 variables of "
        f"{', '.join(SDTM_DOMAINS)} reference (column `CDISC CT Codelist Code(s)`), plus the "
        f"codelists used through value-level metadata or TS values: {extra}; less "
        + ", ".join(f"{c} {why}" for c, why in SKIPPED_CODELISTS.items())
        + ".",
        "",
        f"{len(codelists)} codelists, {len(subset)} terms; one row per term, sorted by "
        "codelist_code then submission_value. Columns: " + ", ".join(TERM_COLUMNS) + " "
        "(codelist_submission_value is the codelist's short name, e.g. SEX; synonyms are "
        '"; "-separated).',
        "",
        "`adam_ct_2025-09-26.csv` and `define-xml_ct_2025-09-26.csv` are verbatim copies of the "
        "NCI ADaM and Define-XML CT, release 2025-09-26 (NCI columns).",
        "",
        "| codelist | short name | extensible | terms | name |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {code} | {short_name} | {extensible} | {terms} | {name} |"
        for code, short_name, extensible, terms, name in codelists.itertuples()
    ]
    return "\n".join(lines) + "\n"


def _sources(sums: Mapping[str, str], subset_rows: int) -> str:
    lines = [
        "# CDISC standards used by the pipeline",
        "",
        "Copied from the shared standards tree (`<shared>/standards`) by "
        "`scripts/import_standards.py --shared <shared>`; re-running it gives byte-identical "
        "files. The pipeline reads only these copies (`transforms/standards.py`).",
        "",
        "| file | what | source | SHA-256 of the source |",
        "| --- | --- | --- | --- |",
    ]
    what = {
        "sdtmig-3.4/Variables.csv": "SDTMIG 3.4 variables: order, label, type, codelists, core",
        "sdtmig-3.4/Datasets.csv": "SDTMIG 3.4 datasets: class, label, structure",
        "adamig-1.3/Variables.csv": "ADaMIG 1.3 variables (ADSL, BDS)",
        "adamig-1.3/DataStructures.csv": "ADaMIG 1.3 data structures",
        "ct/adam_ct_2025-09-26.csv": "NCI ADaM controlled terminology 2025-09-26",
        "ct/define-xml_ct_2025-09-26.csv": "NCI Define-XML controlled terminology 2025-09-26",
    }
    for source, target in VERBATIM.items():
        lines.append(f"| `{target}` | {what[target]}; verbatim | `{source}` | `{sums[source]}` |")
    lines.append(
        f"| `{SDTM_CT}` | NCI SDTM controlled terminology {SDTM_CT_RELEASE}: the codelists "
        f"the study needs ({subset_rows} terms; see `ct/README.md`) | `{SDTM_CT_SOURCE}` "
        f"| `{sums[SDTM_CT_SOURCE]}` |"
    )
    return "\n".join(lines) + "\n"


def import_standards(
    shared: Path, out: Path, extra: Mapping[str, str] = EXTRA_CODELISTS
) -> pd.DataFrame:
    """Write every output under ``out`` from ``shared/standards``; returns the CT subset."""
    source = shared / "standards"
    sums = {name: sha256(source / name) for name in [*VERBATIM, SDTM_CT_SOURCE]}
    for name, target in VERBATIM.items():
        copy_verbatim(source / name, out / target)
    variables = pd.read_csv(
        out / SDTMIG_VARIABLES, dtype=str, keep_default_na=False, encoding="utf-8"
    )
    codes = referenced_codelists(variables, SDTM_DOMAINS) | set(extra)
    subset = ct_subset(read_nci_tsv(source / SDTM_CT_SOURCE), codes, extra)
    write_table(subset, out / SDTM_CT)
    (out / "ct" / "README.md").write_text(
        _ct_readme(subset, sums[SDTM_CT_SOURCE]), encoding="utf-8"
    )
    (out / "SOURCES.md").write_text(_sources(sums, len(subset)), encoding="utf-8")
    return subset


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Copy the CDISC standards the pipeline needs into sdtm_specs/_standards."
    )
    parser.add_argument(
        "--shared", type=Path, default=ROOT.parent / "shared", help="default: ../shared"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "sdtm_specs" / "_standards",
        help="default: sdtm_specs/_standards",
    )
    args = parser.parse_args(argv)
    subset = import_standards(args.shared, args.out)
    print(
        f"{args.out}: {subset['codelist_code'].nunique()} codelists, {len(subset)} terms",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
