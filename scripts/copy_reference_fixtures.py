"""Copy reference datasets from the shared reference folder into the test fixtures.

    python scripts/copy_reference_fixtures.py [--shared ../shared]

Tests read only these copies, never the shared tree (users do not have it). Files are
copied byte for byte; a re-run rewrites nothing that is already identical and prints each
file's SHA-256 (quoted in the fixture folder's README.md).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"

# source under <shared>/reference -> copy under tests/fixtures
COPIES = {
    "pharmaverseadam/adsl.xpt": "pharmaverseadam/adsl.xpt",
    "pharmaverseadam/adrs_onco.xpt": "pharmaverseadam/adrs_onco.xpt",
    "pharmaverseadam/adtte_onco.xpt": "pharmaverseadam/adtte_onco.xpt",
    # CDISCPILOT01: the raw EDC export (pharmaverseraw) and the SDTM published for it
    # (pharmaversesdtm), for tests/test_cdiscpilot.py.
    **{
        f"pharmaverseraw/raw/{form}_raw.csv": f"cdiscpilot01_raw/{form}_raw.csv"
        for form in ("dm", "ae", "ds", "ec", "vs")
    },
    **{
        f"pharmaverseraw/expected_sdtm/{name}.xpt": f"cdiscpilot01_sdtm/{name}.xpt"
        for name in ("dm", "suppdm", "ae", "ds", "ex", "vs")
    },
    # CDISCPILOT01: the ADaM CDISC published for the pilot, for tests/test_cdiscpilot_adam.py
    # (its define.xml, 0.6 MB, stays in the shared folder).
    **{
        f"cdiscpilot01/adam/{name}.xpt": f"cdiscpilot01_adam/{name}.xpt"
        for name in ("adsl", "adae", "adtte")
    },
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_fixtures(shared: Path, out: Path = FIXTURES) -> list[tuple[Path, str]]:
    """Copy every file of COPIES; returns (copy, sha256) pairs."""
    done = []
    for source_name, target_name in COPIES.items():
        source = shared / "reference" / source_name
        if not source.is_file():
            raise FileNotFoundError(f"{source}: reference file not found")
        target = out / target_name
        if not target.is_file() or sha256(target) != sha256(source):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        done.append((target, sha256(target)))
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args(argv)
    try:
        copied = copy_fixtures(args.shared)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    for path, digest in copied:
        print(f"{digest}  {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
