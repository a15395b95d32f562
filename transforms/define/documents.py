"""The reviewer's documents of a submission, as PDF: the annotated CRF and the clinical
SDTM data reviewer's guide beside the SDTM (``sdtm/acrf.pdf``, ``sdtm/csdrg.pdf``), the
analysis data reviewer's guide beside the ADaM (``adam/adrg.pdf``).

- **acrf.pdf**: one section per eCRF form of forms.yaml; each field with the SDTM variables
  it reaches (the field reconciliation, ``reports/reconciliation_fields.csv``, which knows
  every raw field's targets from the mapping specs), or why it is not submitted.
- **csdrg.pdf** / **adrg.pdf**: the PHUSE templates' sections (introduction with the
  standards and dictionaries, protocol description, the data description, the data
  conformance summary), filled from the study specs and what the run wrote.

fpdf2 writes them with the PDF core fonts (text is Latin-1: other characters are spelled
out or replaced); the creation date is the export's, so the same run gives the same bytes.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow.parquet as pq
from fpdf import FPDF
from fpdf.fonts import FontFace

from transforms.define.build import CT_VERSIONS, IG_VERSIONS
from transforms.define.model import AnnotatedCrf
from transforms.define.xml import DEFINE_VERSION
from transforms.store import RunFolder

if TYPE_CHECKING:
    from transforms.specs import StudySpec

_SPELLED = str.maketrans({"–": "-", "—": "-", "≥": ">=", "≤": "<=", "’": "'", "“": '"', "”": '"'})


def _latin1(text: object) -> str:
    """Text the core fonts can show: common symbols spelled out, anything else "?"."""
    return str(text).translate(_SPELLED).encode("latin-1", "replace").decode("latin-1")


class _Document(FPDF):
    """A4 pages with the document's title in the header and the page number below."""

    def __init__(self, title: str, created: datetime) -> None:
        super().__init__(format="A4")
        self.doc_title = _latin1(title)
        self.set_creation_date(created)
        self.set_title(self.doc_title)
        self.set_author("cdisc-pipeline")
        self.set_creator("cdisc-pipeline")
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(15, 15, 15)

    def header(self) -> None:
        self.set_font("Helvetica", "I", 8)
        self.cell(0, 5, self.doc_title, new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "I", 8)
        self.cell(0, 5, f"Page {self.page_no()}", align="C")

    def heading(self, text: str, level: int = 1) -> None:
        self.set_font("Helvetica", "B", {0: 16, 1: 13, 2: 11}[level])
        self.ln(2 if level else 0)
        self.multi_cell(0, 7, _latin1(text), new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def para(self, text: str) -> None:
        self.set_font("Helvetica", "", 10)
        self.multi_cell(0, 5, _latin1(text), new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def topic(self, title: str, text: str, level: int = 2) -> None:
        """A heading and its paragraph."""
        self.heading(title, level)
        self.para(text)

    def grid(
        self, headings: Sequence[str], rows: Iterable[Sequence[object]], widths: Sequence[int]
    ) -> None:
        """A table, its heading row repeated on every page; an empty one says so."""
        rows = [[_latin1("" if _missing(v) else v) for v in row] for row in rows]
        if not rows:
            self.para("None.")
            return
        self.set_font("Helvetica", "", 8)
        with self.table(
            col_widths=tuple(widths),
            headings_style=FontFace(emphasis="BOLD", fill_color=(232, 237, 242)),
            line_height=4,
            text_align="LEFT",
        ) as table:
            for row in [[_latin1(h) for h in headings], *rows]:
                cells = table.row()
                for value in row:
                    cells.cell(value)
        self.ln(3)


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _records(path: Path) -> int:
    return int(pq.read_metadata(path).num_rows)


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _conformance(run: RunFolder, datasets: set[str]) -> list[list[object]]:
    """Per rule, severity and dataset: the count and the first message, for the datasets."""
    found: dict[tuple[str, str, str], list[object]] = {}
    for row in _read_csv(run.report("conformance.csv")):
        if row["dataset"] not in datasets:
            continue
        key = (row["rule"], row["severity"], row["dataset"])
        if key in found:
            found[key][3] = int(str(found[key][3])) + 1
        else:
            found[key] = [*key, 1, row["message"]]
    return [found[k] for k in sorted(found)]


def _introduction(doc: _Document, study: StudySpec, run: RunFolder, standard: str) -> None:
    package = "SDTM" if standard == "SDTMIG" else "ADaM"
    doc.heading("1. Introduction")
    doc.heading("1.1 Purpose", 2)
    doc.para(
        f"This guide describes the {package} data of study {study.id} for a reviewer: the "
        "standards they follow, how they were made, and the conformance findings that remain."
    )
    doc.heading("1.2 Study data standards and dictionary inventory", 2)
    rows: list[list[object]] = [
        [f"{package} Implementation Guide", f"{standard} {IG_VERSIONS[standard]}"],
        ["Controlled terminology", f"CDISC/NCI {package} CT {CT_VERSIONS[package]}"],
        ["Data definition", f"Define-XML {DEFINE_VERSION} (define.xml, define.xsl)"],
        ["Data format", "SAS transport (XPT) version 5"],
    ]
    rows += [[f"Dictionary: {name}", version] for name, version in study.dictionaries.items()]
    doc.grid(["Standard or dictionary", "Version"], rows, [70, 110])
    doc.heading("1.3 Source data used", 2)
    info = run.info
    doc.para(
        f"Raw EDC export {info.get('export_id')} (data cut-off {info.get('data_cutoff')}), "
        f"{len(info.get('inputs', {}))} files; converted by cdisc-pipeline from the study's "
        f"specifications (sdtm_specs/{study.id})."
    )


def write_csdrg(run: RunFolder, study: StudySpec) -> Path:
    """``sdtm/csdrg.pdf``: the clinical SDTM data reviewer's guide (PHUSE sections)."""
    doc = _Document(f"{study.id} Clinical Study Data Reviewer's Guide", run.export_created)
    doc.add_page()
    doc.heading(f"{study.id}: Clinical Study Data Reviewer's Guide", 0)
    _introduction(doc, study, run, "SDTMIG")
    tables = run.sdtm_tables()
    doc.heading("2. Protocol description")
    doc.heading("2.1 Protocol number and title", 2)
    doc.para(f"Protocol {study.id}: {study.title}")
    doc.heading("2.2 Trial design datasets", 2)
    design = [n for n in ("TA", "TE", "TV", "TI", "TS") if n in tables]
    doc.grid(["Dataset", "Records"], [[n, _records(tables[n])] for n in design], [40, 30])
    doc.heading("3. Subject data description")
    doc.heading("3.1 Overview", 2)
    labels = {name: spec.label for name, spec in study.datasets.items()}
    doc.grid(
        ["Dataset", "Label", "Records"],
        [[n, labels.get(n, f"Supplemental Qualifiers for {n[4:]}"), _records(p)]
         for n, p in tables.items()],
        [30, 120, 30],
    )  # fmt: skip
    doc.topic(
        "3.2 Annotated CRF",
        "acrf.pdf, beside the datasets, gives each field of each eCRF form with the SDTM "
        "variables it reaches, or why it is not submitted.",
    )
    doc.heading("3.3 Supplemental qualifiers", 2)
    doc.grid(
        ["Dataset", "QNAM", "QLABEL", "Origin"],
        [[f"SUPP{name}", q.qnam, q.qlabel, q.qorig]
         for name, spec in study.datasets.items() for q in spec.supplemental],
        [30, 30, 90, 30],
    )  # fmt: skip
    doc.heading("4. Data conformance summary")
    doc.para(
        "Checked by the pipeline's conformance rules (IDs of the FDA Validator Rules v1.3 "
        "where one matches); every finding is listed in findings.xlsx of the run. The "
        "findings that remain, per rule and dataset:"
    )
    doc.grid(
        ["Rule", "Severity", "Dataset", "Count", "Message (first)"],
        _conformance(run, set(tables)),
        [20, 20, 20, 15, 105],
    )
    if "TS" in tables:
        ts = pd.read_parquet(tables["TS"], columns=["TSPARMCD", "TSVAL"])
        doc.heading("Appendix: Trial summary (TS)")
        doc.grid(["TSPARMCD", "TSVAL"], ts.itertuples(index=False, name=None), [30, 150])
    target = run.sdtm / "csdrg.pdf"
    doc.output(str(target))
    return target


def write_adrg(run: RunFolder, study: StudySpec) -> Path:
    """``adam/adrg.pdf``: the analysis data reviewer's guide (PHUSE sections)."""
    from transforms.adam.spec import load_adam_spec

    specs = [load_adam_spec(study.adam_spec_path(name)) for name in study.adam]
    tables = run.adam_tables()
    doc = _Document(f"{study.id} Analysis Data Reviewer's Guide", run.export_created)
    doc.add_page()
    doc.heading(f"{study.id}: Analysis Data Reviewer's Guide", 0)
    _introduction(doc, study, run, "ADaMIG")
    doc.heading("2. Protocol description")
    doc.para(f"Protocol {study.id}: {study.title}")
    endpoints = study.endpoints
    if endpoints is not None:
        doc.heading("2.1 Analysis objectives", 2)
        doc.grid(
            ["Endpoint", "Dataset", "Parameter", "Purpose"],
            [[t.label or t.key, t.dataset, t.paramcd, t.purpose or ""]
             for t in endpoints.time_to_event]
            + [[r.label, r.dataset, r.paramcd, ""]
               for r in (endpoints.rates.endpoints if endpoints.rates else ())],
            [70, 30, 30, 50],
        )  # fmt: skip
    doc.heading("3. Analysis considerations")
    if endpoints is not None:
        doc.heading("3.1 Populations", 2)
        doc.grid(
            ["Population", "Flag", "Treatment variable"],
            [[p.label, f"{endpoints.subjects}.{p.flag} = Y", p.arm or ""]
             for p in (endpoints.efficacy, endpoints.safety)],
            [70, 60, 50],
        )  # fmt: skip
    doc.topic(
        "3.2 Dates",
        "Analysis dates (*DT) are SAS dates (days since 1960-01-01, format DATE9.); an "
        "imputed date has its imputation flag (*DTF, D/M/Y).",
    )
    doc.heading("4. Data creation and processing")
    doc.para(
        "Every ADaM dataset is derived from the published SDTM of the same run, by the steps "
        f"of its specification (sdtm_specs/{study.id}/adam/), in this order: "
        + ", ".join(s.name for s in specs)
        + ". Each derived variable's method is in define.xml."
    )
    doc.heading("5. Analysis dataset descriptions")
    doc.grid(
        ["Dataset", "Label", "Class", "Records", "Key variables"],
        [[s.name, s.label, s.class_, _records(tables[s.name]) if s.name in tables else "",
          ", ".join(s.keys)] for s in specs],
        [20, 55, 45, 15, 45],
    )  # fmt: skip
    doc.heading("6. Data conformance summary")
    doc.grid(
        ["Rule", "Severity", "Dataset", "Count", "Message (first)"],
        _conformance(run, {s.name for s in specs}),
        [20, 20, 20, 15, 105],
    )
    doc.topic(
        "7. Submission of programs",
        "The datasets are made by cdisc-pipeline from the specifications named above; the "
        "analysis of each endpoint with a purpose is described in define.xml's Analysis "
        "Results Metadata.",
        level=1,
    )
    target = run.adam / "adrg.pdf"
    doc.output(str(target))
    return target


def write_documents(run: RunFolder, study: StudySpec, layer: str) -> list[Path]:
    """The documents a layer writes at publication (after its conformance report): the
    cSDRG (sdtm), the ADRG (adam). The annotated CRF comes before, with define.xml."""
    if layer == "sdtm":
        return [write_csdrg(run, study)]
    return [write_adrg(run, study)]


def write_acrf(run: RunFolder, study: StudySpec) -> AnnotatedCrf:
    """``sdtm/acrf.pdf``: each eCRF form's fields with their SDTM targets. Returns what
    define.xml says of it: each variable a field reaches (not as a key) with the pages of
    the field's form."""
    fields = _read_csv(run.field_reconciliation)
    doc = _Document(f"{study.id} Annotated CRF", run.export_created)
    doc.add_page()
    doc.heading(f"{study.id}: Annotated case report form", 0)
    doc.para(
        "Each eCRF form of the study, each field with the SDTM variables its value reaches "
        "(a (key) target: the field identifies the record), or the reason it is not submitted."
    )
    pages: dict[str, set[int]] = {}
    for oid, form in study.forms.items():
        rows = [f for f in fields if f["form"] == oid]
        doc.heading(f"Form {oid}: {form.label}", 1)
        first = doc.page_no()
        doc.grid(
            ["Field", "Status", "SDTM annotation"],
            [[f["field"], f["status"], f["targets"] or f["reason"]] for f in rows],
            [35, 25, 120],
        )
        shown = set(range(first, doc.page_no() + 1))
        for row in rows:
            for variable in filter(None, (t.strip() for t in row["targets"].split(";"))):
                if not variable.endswith("(key)"):
                    pages.setdefault(variable, set()).update(shown)
    path = run.sdtm / "acrf.pdf"
    doc.output(str(path))
    return AnnotatedCrf(
        path.name, "Annotated CRF", {k: tuple(sorted(v)) for k, v in sorted(pages.items())}
    )
