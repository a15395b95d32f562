"""The reviewer's documents of a submission, as PDF: the annotated CRF and the clinical
SDTM data reviewer's guide beside the SDTM (``sdtm/acrf.pdf``, ``sdtm/csdrg.pdf``), the
analysis data reviewer's guide beside the ADaM (``adam/adrg.pdf``).

- **acrf.pdf**: the blank CRF, a bookmarked page (or more) per eCRF form of forms.yaml, in
  the usual aCRF style (CDISC Metadata Submission Guidelines): the datasets the form
  reaches in boxes at its top, then each field's label, its name, an empty entry box and
  beside it the annotation: the SDTM variables it reaches (the field reconciliation,
  ``reports/reconciliation_fields.csv``, which knows every raw field's targets from the
  mapping specs), or NOT SUBMITTED and why.
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
from transforms.define.model import AnnotatedCrf, Document
from transforms.define.xml import DEFINE_VERSION
from transforms.store import RunFolder

if TYPE_CHECKING:
    from transforms.specs import ColumnSpec, StudySpec

GUIDES: dict[str, Document] = {
    "sdtm": Document("csdrg.pdf", "Clinical Study Data Reviewer's Guide", "LF.CSDRG"),
    "adam": Document("adrg.pdf", "Analysis Data Reviewer's Guide", "LF.ADRG"),
}
"""The reviewer's guide of each layer: written at publication (it summarises the conformance
report, which checks define.xml), named before that by define.xml as its def:SupplementalDoc."""

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
    guide = GUIDES["sdtm"]
    doc = _Document(f"{study.id} {guide.title}", run.export_created)
    doc.add_page()
    doc.heading(f"{study.id}: {guide.title}", 0)
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
    target = run.sdtm / guide.href
    doc.output(str(target))
    return target


def write_adrg(run: RunFolder, study: StudySpec) -> Path:
    """``adam/adrg.pdf``: the analysis data reviewer's guide (PHUSE sections)."""
    from transforms.adam.spec import load_adam_spec

    specs = [load_adam_spec(study.adam_spec_path(name)) for name in study.adam]
    tables = run.adam_tables()
    guide = GUIDES["adam"]
    doc = _Document(f"{study.id} {guide.title}", run.export_created)
    doc.add_page()
    doc.heading(f"{study.id}: {guide.title}", 0)
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
    target = run.adam / guide.href
    doc.output(str(target))
    return target


def write_documents(run: RunFolder, study: StudySpec, layer: str) -> list[Path]:
    """The documents a layer writes at publication (after its conformance report): the
    cSDRG (sdtm), the ADRG (adam). The annotated CRF comes before, with define.xml."""
    if layer == "sdtm":
        return [write_csdrg(run, study)]
    return [write_adrg(run, study)]


_ENTRY_HINT = {"date": "DD MON YYYY", "time": "HH:MM", "integer": "#", "decimal": "#.#"}
_ANNOTATION = (214, 234, 248)  # the pale blue of the usual aCRF annotation box
_NOT_SUBMITTED = (235, 235, 235)


def _field_row(doc: _Document, column: ColumnSpec | None, field: str, row: dict[str, str]) -> None:
    """One field as a CRF line: its label and name, an empty entry box, and beside it the
    annotation (the SDTM variables it reaches, its record keys in smaller type) or NOT
    SUBMITTED with the reason."""
    label = _latin1(column.label if column else field)
    targets = [t.strip() for t in row.get("targets", "").split(";") if t.strip()]
    values = [t for t in targets if not t.endswith("(key)")]
    keys = [t.removesuffix(" (key)") for t in targets if t.endswith("(key)")]
    submitted = row.get("status") == "mapped"
    note = (
        ("keys: " + ", ".join(keys) if keys and values else "") if submitted
        else row.get("reason", "")
    )  # fmt: skip
    annotation = (
        (", ".join(values or [f"{k} (key)" for k in keys])) if submitted else "NOT SUBMITTED"
    )
    doc.set_font("Helvetica", "", 8)
    lines = max(
        len(doc.multi_cell(62, 4, label, dry_run=True, output="LINES")) + 1,
        len(doc.multi_cell(70, 4, _latin1(annotation), dry_run=True, output="LINES"))
        + len(doc.multi_cell(70, 3.5, _latin1(note), dry_run=True, output="LINES")) * (note != ""),
        2,
    )
    height = lines * 4 + 3
    if doc.get_y() + height > doc.h - 18:
        doc.add_page()
    top = doc.get_y()
    doc.set_xy(15, top)
    doc.set_font("Helvetica", "", 9)
    doc.multi_cell(62, 4, label, align="L", new_x="LMARGIN", new_y="NEXT")
    doc.set_x(15)
    doc.set_font("Helvetica", "I", 7)
    doc.cell(62, 3.5, _latin1(field))
    doc.set_draw_color(90, 90, 90)
    doc.rect(80, top, 42, 6)
    hint = _ENTRY_HINT.get(column.type if column else "", "")
    if hint:
        doc.set_text_color(160, 160, 160)
        doc.set_xy(81, top + 1)
        doc.cell(40, 4, hint)
        doc.set_text_color(0, 0, 0)
    doc.set_xy(125, top)
    doc.set_fill_color(*(_ANNOTATION if submitted else _NOT_SUBMITTED))
    doc.set_font("Helvetica", "B" if submitted else "BI", 8)
    doc.multi_cell(
        70, 4, _latin1(annotation), border=1, fill=True, align="L", new_x="LEFT", new_y="NEXT"
    )
    if note:
        doc.set_font("Helvetica", "I", 7)
        doc.set_text_color(80, 80, 80)
        doc.multi_cell(70, 3.5, _latin1(note), align="L", new_x="LMARGIN", new_y="NEXT")
        doc.set_text_color(0, 0, 0)
    doc.set_y(top + height)
    doc.set_draw_color(210, 210, 210)
    doc.line(15, top + height - 1.5, 195, top + height - 1.5)


def _domains(rows: list[dict[str, str]], study: StudySpec) -> list[str]:
    """The datasets a form's fields reach with a value, as the aCRF's domain boxes say them
    ("DM = Demographics"), in the order first reached."""
    names: dict[str, None] = {}
    for row in rows:
        for target in row.get("targets", "").split(";"):
            target = target.strip()
            if target and not target.endswith("(key)"):
                names.setdefault(target.split(".", 1)[0], None)
    labels = {name: spec.label for name, spec in study.datasets.items()}
    return [f"{n} = {labels.get(n) or f'Supplemental Qualifiers for {n[4:]}'}" for n in names]


def write_acrf(run: RunFolder, study: StudySpec) -> AnnotatedCrf:
    """``sdtm/acrf.pdf``: the study's blank CRF, one page (or more) per eCRF form of
    forms.yaml, bookmarked; each field with its label, an empty entry box and, beside it,
    the SDTM variables it reaches (the field reconciliation) or NOT SUBMITTED and why; the
    domains the form reaches at its top. Returns what define.xml says of it: each variable
    a field reaches (not as a key) with the pages the field is on."""
    fields = _read_csv(run.field_reconciliation)
    doc = _Document(f"{study.id} Annotated CRF", run.export_created)
    doc.add_page()
    doc.heading(f"{study.id}: Annotated case report form", 0)
    doc.para(
        "The blank eCRF of the study, a page per form (see the bookmarks), each field "
        "annotated with the SDTM variables its value reaches (dataset.variable, or "
        "SUPP--.QNAM for a supplemental qualifier), the variables it only identifies the "
        "records of in smaller type, or NOT SUBMITTED with the reason. The datasets a form "
        "reaches are named at its top."
    )
    pages: dict[str, set[int]] = {}
    for oid, form in study.forms.items():
        rows = [f for f in fields if f["form"] == oid]
        doc.add_page()
        doc.start_section(_latin1(f"{oid}: {form.label}"))
        doc.heading(f"Form {oid}: {form.label}", 1)
        for domain in _domains(rows, study):
            doc.set_font("Helvetica", "B", 9)
            doc.set_fill_color(*_ANNOTATION)
            doc.cell(0, 6, _latin1(domain), border=1, fill=True, new_x="LMARGIN", new_y="NEXT")
        doc.ln(3)
        for row in rows:
            _field_row(doc, form.columns.get(row["field"]), row["field"], row)
            for variable in filter(None, (t.strip() for t in row["targets"].split(";"))):
                if not variable.endswith("(key)"):
                    pages.setdefault(variable, set()).add(doc.page_no())
    path = run.sdtm / "acrf.pdf"
    doc.output(str(path))
    return AnnotatedCrf(
        path.name, "Annotated CRF", {k: tuple(sorted(v)) for k, v in sorted(pages.items())}
    )
