"""Define-XML 2.1 from the specs and the written files; its HTML rendering; the manifest.

    write_define(run_dir, "sdtm")            -> <run>/sdtm/define.xml (+ define.html)
    write_define(run_dir, "adam", adam_metadata(specs))
    write_submission_manifest(run_dir)       -> <run>/reports/submission_manifest.csv (+ .md)

The model (:mod:`transforms.define.model`) is built once from dataset metadata and the XPT
files (:mod:`~transforms.define.build`; their values read a column at a time from the Parquet
beside each, :mod:`~transforms.define.values`); define.xml (:mod:`~transforms.define.xml`)
and define.html (:mod:`~transforms.define.html`) are both rendered from it.
"""

from transforms.define.build import DefineError, build_define
from transforms.define.manifest import write_submission_manifest
from transforms.define.metadata import adam_metadata, endpoint_analyses, sdtm_metadata
from transforms.define.model import AnalysisMeta, DatasetMeta, ValueListMeta, VariableMeta
from transforms.define.writer import write_define
from transforms.define.xml import check_define, check_documents, render_stylesheet, validate_define

__all__ = [
    "AnalysisMeta",
    "DatasetMeta",
    "DefineError",
    "ValueListMeta",
    "VariableMeta",
    "adam_metadata",
    "build_define",
    "check_define",
    "check_documents",
    "endpoint_analyses",
    "render_stylesheet",
    "sdtm_metadata",
    "validate_define",
    "write_define",
    "write_submission_manifest",
]
