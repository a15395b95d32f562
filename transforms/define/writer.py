"""write_define: define.xml (validated) and define.html for one layer of a run folder."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from transforms.define.build import DefineError, build_define
from transforms.define.html import render_html
from transforms.define.metadata import sdtm_metadata
from transforms.define.model import AnalysisMeta, AnnotatedCrf, DatasetMeta, Document, Layer
from transforms.define.xml import (
    STYLESHEET,
    check_define,
    define_tree,
    to_bytes,
    validate_define,
)
from transforms.errors import PipelineError
from transforms.files import replaced, write_bytes
from transforms.store import RunFolder

if TYPE_CHECKING:
    from transforms.specs import StudySpec

log = logging.getLogger("cdisc.define")


def write_define(
    run_dir: Path,
    layer: Layer = "sdtm",
    datasets: Sequence[DatasetMeta] | None = None,
    *,
    created: datetime | None = None,
    dictionaries: Mapping[str, str] | None = None,
    study: StudySpec | None = None,
    analyses: Sequence[AnalysisMeta] = (),
    annotated_crf: AnnotatedCrf | None = None,
    supplemental: Sequence[Document] = (),
) -> Path:
    """Write ``<run>/<layer>/define.xml``, ``define.html`` and the stylesheet ``define.xsl``
    that define.xml names (a browser renders define.xml with it) for the XPT files there.

    ``datasets`` describes them (SDTM default: the study's specs, SUPP-- included; ADaM:
    give :func:`transforms.define.metadata.adam_metadata` of the ADaM specs). ``created``
    defaults to the export's creation time (so a rerun gives the same bytes);
    ``dictionaries`` names external dictionary versions, e.g. ``{"MedDRA": "27.1"}``;
    ``study``: the run's study spec, when the caller has it loaded; ``analyses``: the
    Analysis Results Metadata (ADaM; :func:`transforms.define.metadata.endpoint_analyses`);
    ``annotated_crf``: the annotated CRF already written beside define.xml (SDTM;
    :func:`transforms.define.documents.write_acrf`); ``supplemental``: the documents
    define.xml names as def:SupplementalDoc, written beside it at publication (the
    reviewer's guide, :data:`transforms.define.documents.GUIDES`): not there yet, they are
    not looked for now (publication checks them, :func:`~transforms.define.xml.check_documents`).
    The document is checked against the Define-XML 2.1 XSD and by :func:`check_define`
    before it replaces any earlier one; a problem raises :class:`DefineError` and leaves
    no define.xml behind. Returns the define.xml path.
    """
    from transforms.specs import load_study

    run = RunFolder(Path(run_dir))
    if layer not in ("sdtm", "adam"):
        raise DefineError(f"layer must be sdtm or adam, not {layer!r}")
    try:
        study = study or load_study(run.study_id)
    except PipelineError as exc:  # no extract facts: not a run folder
        raise DefineError(str(exc)) from exc
    if datasets is None:
        if layer != "sdtm":
            raise DefineError("ADaM: pass the datasets' metadata (adam_metadata(specs))")
        datasets = sdtm_metadata(study)
    if created is None:
        created = run.export_created
    folder = run.path / layer
    model = build_define(
        datasets, folder, layer=layer, study_id=study.id, study_title=study.title,
        created=created, dictionaries=dictionaries, analyses=analyses,
        annotated_crf=annotated_crf, supplemental=supplemental,
    )  # fmt: skip
    tree = define_tree(model)
    if errors := validate_define(tree):
        raise DefineError(
            f"{folder / 'define.xml'}: not valid Define-XML 2.1 ({len(errors)} error(s)): "
            + "; ".join(errors[:10])
        )
    target = folder / "define.xml"
    write_bytes(folder / STYLESHEET.name, STYLESHEET.read_bytes())
    with replaced(target) as staged:
        staged.write_bytes(to_bytes(tree))
        problems = check_define(staged, later=[d.href for d in supplemental])
        if problems:
            raise DefineError(f"{target}: {len(problems)} problem(s): " + "; ".join(problems[:10]))
    write_bytes(folder / "define.html", render_html(model).encode("utf-8"))
    log.info(
        "define: %s (%d datasets, %d items, %d codelists)",
        target, len(model.groups), len(model.items), len(model.codelists),
    )  # fmt: skip
    return target
