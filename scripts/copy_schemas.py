"""Copy the Define-XML 2.1 schema tree (and a reference define.xml) into the project.

    python scripts/copy_schemas.py [--shared ../shared]

Reads ``<shared>`` (read-only) and writes, deterministically (a re-run gives byte-identical
files):

- ``transforms/schemas/define-2.1/``: the whole Define-XML 2.1 XSD tree, unchanged
  (``cdisc-define-2.1/define2-1-0.xsd`` includes its siblings and imports
  ``../cdisc-odm-1.3.2`` and ``../core`` by relative path, so the tree is kept as it is),
  plus a ``README.md`` naming the source and the SHA-256 of every file;
- ``tests/fixtures/define/cdiscpilot01-define.xml``: the CDISC MSG v2 sample define.xml,
  a structural example for the tests.

The pipeline reads only these copies, never the shared tree.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_SOURCE = Path("standards/schema/define-2.1")
SCHEMA_TARGET = ROOT / "transforms" / "schemas" / "define-2.1"
EXAMPLE_SOURCE = Path("reference/cdiscpilot01/sdtm/define.xml")
EXAMPLE_TARGET = ROOT / "tests" / "fixtures" / "define" / "cdiscpilot01-define.xml"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    data = source.read_bytes()
    if not target.exists() or target.read_bytes() != data:
        target.write_bytes(data)


def _readme(files: Sequence[tuple[str, str]]) -> str:
    lines = [
        "# Define-XML 2.1 schema",
        "",
        "An unchanged copy of the Define-XML 2.1.0 XML schema tree published by the CDISC XML",
        "Technologies team (`cdisc-define-2.1/define2-1-0.xsd`, which redefines the ODM 1.3.2",
        "foundation schema in `cdisc-odm-1.3.2/` and imports the W3C schemas in `core/`), taken",
        "from the project's shared standards folder (`standards/schema/define-2.1/`) by",
        "`scripts/copy_schemas.py`. Relative imports need the tree as it is: do not move files.",
        "The project never reads the shared folder at run time or in tests: this copy is the one",
        "used (`transforms/define/xml.py` validates every define.xml it writes against it).",
        "",
        "| file | SHA-256 |",
        "| --- | --- |",
    ]
    lines += [f"| `{name}` | `{digest}` |" for name, digest in files]
    return "\n".join(lines) + "\n"


def _example_readme(digest: str) -> str:
    return "\n".join(
        [
            "# A reference define.xml (structural example for `tests/test_define.py`)",
            "",
            "`cdiscpilot01-define.xml` is an unchanged copy of the Define-XML 2.1 sample that",
            "the CDISC MSG v2 team published for the CDISC pilot study (CDISCPILOT01), taken from",
            "the project's shared reference folder (`reference/cdiscpilot01/sdtm/define.xml`) by",
            "`scripts/copy_schemas.py`. Tests use this copy only; they never read the shared",
            "folder. It validates against `transforms/schemas/define-2.1` except where it names",
            'its standard "STDTMIG" (not a StandardName of the schema), which the test expects.',
            "",
            f"sha256 `{digest}`",
            "",
        ]
    )


def copy_schemas(shared: Path) -> list[Path]:
    """Copy the schema tree and the example; returns the files written (or already equal)."""
    source = shared / SCHEMA_SOURCE
    if not (source / "cdisc-define-2.1" / "define2-1-0.xsd").is_file():
        raise SystemExit(f"{source}: no Define-XML 2.1 schema tree here")
    written: list[Path] = []
    listed: list[tuple[str, str]] = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        relative = path.relative_to(source)
        target = SCHEMA_TARGET / relative
        _copy(path, target)
        written.append(target)
        listed.append((relative.as_posix(), sha256(path)))
    readme = SCHEMA_TARGET / "README.md"
    readme.write_text(_readme(listed), encoding="utf-8")
    written.append(readme)
    _copy(shared / EXAMPLE_SOURCE, EXAMPLE_TARGET)
    example_readme = EXAMPLE_TARGET.parent / "README.md"
    example_readme.write_text(_example_readme(sha256(EXAMPLE_TARGET)), encoding="utf-8")
    written += [EXAMPLE_TARGET, example_readme]
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Copy the Define-XML 2.1 schema tree into transforms/schemas/define-2.1."
    )
    parser.add_argument(
        "--shared", type=Path, default=ROOT.parent / "shared", help="default: ../shared"
    )
    args = parser.parse_args(argv)
    written = copy_schemas(args.shared)
    print(f"{len(written)} file(s) in place", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
