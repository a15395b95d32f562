"""The ``cdisc-sample`` command: write a seeded sample EDC export of a study."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from samplegen import FORMATS, STUDIES, generate_export
from transforms.cli import guarded
from transforms.studies import STUDY_ID

PROG = "cdisc-sample"


def _at_least_one(text: str) -> int:
    """An argument that counts something: a whole number, 1 or more."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG, description="Write a seeded sample EDC export of a study (CSV or ODM)."
    )
    p.add_argument("--study", required=True, help="study id, e.g. POMMAINT")
    p.add_argument(
        "--subjects",
        type=_at_least_one,
        default=15,
        help="number of subjects enrolled (default 15); screen failures come on top",
    )
    p.add_argument("--seed", type=int, default=20261123, help="random seed (default 20261123)")
    p.add_argument("--out", type=Path, required=True, help="landing root: writes OUT/STUDY/<id>/")
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="csv",
        help="csv or odm: a file per form; odm-study: one CDISC ODM 1.3.2 file holding every "
        "form (subject, site and visit in its structure)",
    )
    p.add_argument(
        "--export-time",
        type=datetime.fromisoformat,
        default=None,
        help="export timestamp, e.g. 2026-11-20T02:00:00Z (UTC; default now)",
    )
    p.add_argument(
        "--cutoff", type=date.fromisoformat, default=date(2026, 11, 15), help="data cut-off date"
    )
    p.add_argument(
        "--night",
        type=_at_least_one,
        default=1,
        help="1: data as first entered; 2+: with the site's late corrections (default 1)",
    )
    p.add_argument(
        "--dirty",
        action="store_true",
        help="plant one defect of each class the quality gates catch (listed in export.json)",
    )
    p.add_argument(
        "--profile",
        choices=("standard", "realistic"),
        default="standard",
        help="data volume: realistic adds a Day 15 lab draw per cycle, ~500+ LB records per "
        "subject over three years (default standard)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    return guarded(lambda: _main(argv), PROG)


def _main(argv: Sequence[str] | None) -> int:
    args = parser().parse_args(argv)
    if not STUDY_ID.fullmatch(args.study):  # never a path out of the landing root
        print(f"{PROG}: error: study id {args.study!r} refused: it must match "
              f"{STUDY_ID.pattern}", file=sys.stderr)  # fmt: skip
        return 2
    if args.study not in STUDIES:
        known = ", ".join(sorted(STUDIES))
        print(f"{PROG}: error: no sample generator for study {args.study!r} (known: {known})",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        path = _write(args)
    except (ValueError, OSError) as exc:  # a bad value for this study, an unwritable --out
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    print(f"sample export written: {path}")
    if args.dirty:
        print("defects planted (also listed in its export.json under 'defects'):")
        for d in json.loads((path / "export.json").read_text(encoding="utf-8"))["defects"]:
            print(f"  {d['kind']:<18} {d['form']:<4} subject {d['subject']:<6} "
                  f"{d['field']:<10} {d['value']!r}: {d['what']}")  # fmt: skip
    return 0


def _write(args: argparse.Namespace) -> Path:
    return generate_export(
        args.study,
        subjects=args.subjects,
        seed=args.seed,
        out=args.out,
        fmt=args.format,
        export_time=args.export_time,
        cutoff=args.cutoff,
        night=args.night,
        dirty=args.dirty,
        profile=args.profile,
    )


if __name__ == "__main__":
    sys.exit(main())
