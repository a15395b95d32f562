"""The ``cdisc`` command: the same engine the DAG tasks call, without Airflow."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from transforms import __version__

if TYPE_CHECKING:
    from transforms.jobs.plan import Job, Step
    from transforms.jobs.runner import Failed
    from transforms.store import RunFolder

log = logging.getLogger("cdisc")


def _default(env: str, fallback: str) -> Path:
    return Path(os.environ.get(env, fallback))


def _cmd_run(args: argparse.Namespace) -> int:
    from transforms.alerts import announce_failure, announce_warnings, configured
    from transforms.errors import NothingNew, UserError
    from transforms.jobs.plan import FIRST_STEP, Place, dag_id
    from transforms.jobs.runner import run_job, study_job
    from transforms.specs import load_study

    alerts = configured()  # the DAGs' alerts, when the environment names where they go
    try:
        study = load_study(args.study)
    except UserError as exc:  # a spec that cannot be read: the DAG's first task fails on it
        if alerts:
            announce_failure(args.study, args.store, dag_id=dag_id(args.study, "sdtm"),
                             task_id=FIRST_STEP["sdtm"], run_id="cdisc run, no run folder",
                             error=f"{type(exc).__name__}: {exc}")  # fmt: skip
        raise
    place = Place(args.store, args.landing, args.force)
    for kind in ("sdtm", "adam") if study.adam else ("sdtm",):
        plan = study_job(study, kind)
        try:
            link = run_job(plan, place, study, _alert_failure(plan, args.store) if alerts else None)
        except NothingNew as done:
            print(f"{kind.upper() if kind == 'sdtm' else 'ADaM'}: nothing new: {done}")
        else:
            if alerts:  # as the DAG's publishing task's callback: said only with warnings
                announce_warnings(args.study, link.resolve())
    current = args.store / args.study / "current"
    if current.is_symlink():
        _show(current)
    return 0


def _alert_failure(plan: Job, store: Path) -> Failed:
    """What ``cdisc run`` does when a step fails: what the DAG's task does (its failure
    alert through the channels the environment names, and CDISC_ON_FAILURE), the step in
    the task's place and the run folder in the DAG run's."""
    from transforms.alerts import announce_failure

    def failed(step: Step, exc: Exception, run: RunFolder | None) -> None:
        run_id = f"cdisc run, run folder {run.run_id}" if run else "cdisc run, no run folder"
        announce_failure(plan.study, store, dag_id=plan.dag_id, task_id=step.id, run_id=run_id,
                         error=f"{type(exc).__name__}: {exc}")  # fmt: skip

    return failed


def _cmd_where(args: argparse.Namespace) -> int:
    from transforms.status import landing_notes
    from transforms.store import check_layout, current

    check_layout(args.store, args.study)  # a file where `current` should be: said, not hidden
    target = current(args.store, args.study)
    notes = landing_notes(args.study, args.store, args.landing)
    if target is None:
        print(f"{args.study}: nothing published yet under {args.store}", file=sys.stderr)
        print("\n".join(notes), file=sys.stderr, end="\n" if notes else "")
        return 1
    _show(args.store / args.study / "current")
    print("\n".join(notes), end="\n" if notes else "")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from transforms.status import describe

    print(describe(args.study, args.store, args.landing))
    return 0


def _cmd_to_dataset_json(args: argparse.Namespace) -> int:
    from transforms.datasetjson import DatasetJsonError, xpt_to_dataset_json

    try:
        out = xpt_to_dataset_json(args.xpt, args.out, created=args.created, encoding=args.encoding)
    except DatasetJsonError as exc:
        print(f"cdisc {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"cdisc {args.command}: error: cannot write {args.out}: {exc.strerror}",
              file=sys.stderr)  # fmt: skip
        return 2
    print(f"Dataset-JSON written: {out}")
    return 0


def _show(link: Path) -> None:
    """The published outputs, then the quality gates' one-screen summaries (each once:
    the run's own progress lines do not repeat them)."""
    from transforms.store import RunFolder

    print(f"published: {link} -> {link.resolve()}")
    for sub in ("sdtm", "adam", "reports"):
        files = sorted(p.name for p in (link / sub).iterdir() if p.is_file())
        print(f"  {sub}/: {', '.join(files) if files else '(empty)'}")
    for gate in ("raw", "sdtm"):
        summary = RunFolder(link).report(f"quality_{gate}.txt")
        if summary.exists():
            print(summary.read_text(encoding="utf-8").rstrip())


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="cdisc", description="Raw EDC exports to CDISC SDTM / XPT v5, without Airflow."
    )
    top.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run the pipeline on the newest complete export and publish")
    p.add_argument("--study", required=True, help="study id, e.g. POMMAINT")
    p.add_argument("--landing", type=Path, default=_default("CDISC_LANDING", "data/landing"),
                   help="landing root (default $CDISC_LANDING or data/landing)")  # fmt: skip
    p.add_argument("--store", type=Path, default=_default("CDISC_STORE", "data/store"),
                   help="output store (default $CDISC_STORE or data/store)")  # fmt: skip
    p.add_argument("--force", action="store_true",
                   help="run even if the newest export is already published")  # fmt: skip
    p.set_defaults(func=_cmd_run, parser=p)  # parser: names the sub-command in later errors

    p = sub.add_parser("where", help="show the published outputs of a study")
    p.add_argument("--study", required=True, help="study id")
    p.add_argument("--store", type=Path, default=_default("CDISC_STORE", "data/store"),
                   help="output store (default $CDISC_STORE or data/store)")  # fmt: skip
    p.add_argument("--landing", type=Path, default=_default("CDISC_LANDING", "data/landing"),
                   help="landing root, for what it holds that is not read "
                   "(default $CDISC_LANDING or data/landing)")  # fmt: skip
    p.set_defaults(func=_cmd_where, parser=p)

    p = sub.add_parser("status", help="the publication, and every night since: published, "
                       "failed (stage and reason) or skipped")  # fmt: skip
    p.add_argument("--study", required=True, help="study id")
    p.add_argument("--store", type=Path, default=_default("CDISC_STORE", "data/store"),
                   help="output store (default $CDISC_STORE or data/store)")  # fmt: skip
    p.add_argument("--landing", type=Path, default=_default("CDISC_LANDING", "data/landing"),
                   help="landing root, for what it holds that is not read "
                   "(default $CDISC_LANDING or data/landing)")  # fmt: skip
    p.set_defaults(func=_cmd_status, parser=p)

    p = sub.add_parser("to-dataset-json", help="convert a SAS XPT file to CDISC Dataset-JSON v1.1")
    p.add_argument("xpt", type=Path, metavar="IN.xpt", help="SAS transport file (XPT v5 or v8)")
    p.add_argument("out", type=Path, metavar="OUT.json", help="Dataset-JSON file to write")
    p.add_argument("--created", type=_timestamp, default=None,
                   help="creation time to record (default: the XPT header's)")  # fmt: skip
    p.add_argument("--encoding", default=None,
                   help="text encoding of the XPT file, e.g. latin1 (default UTF-8)")  # fmt: skip
    p.set_defaults(func=_cmd_to_dataset_json, parser=p)
    return top


def guarded(body: Callable[[], int], prog: str) -> int:
    """Run a command's body for a person: its output piped into a reader that stops early
    (``| head``) ends it quietly, Ctrl-C is one line; never a traceback for either."""
    try:
        try:
            return body()
        finally:
            sys.stdout.flush()  # here, not at exit, where a closed pipe could not be caught
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # exit flushes nothing
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    return guarded(lambda: _main(argv), "cdisc")


def _main(argv: Sequence[str] | None) -> int:
    args, extra = parser().parse_known_args(argv)
    if extra:  # said by the sub-command's parser: its usage line, not the top one's
        args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    # Our progress lines at INFO; other libraries' (Great Expectations is chatty) warnings
    # only; the gates' summaries are shown once, at the end (``_show``), not as they pass.
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("cdisc").setLevel(logging.WARNING if args.quiet else logging.INFO)
    logging.getLogger("cdisc.summary").setLevel(logging.WARNING)
    from transforms.errors import UserError
    from transforms.studies import STUDY_ID, unknown_study

    study = getattr(args, "study", None)
    if study is not None and not STUDY_ID.fullmatch(study):  # never a path into the store
        print(f"cdisc {args.command}: error: study id {study!r} refused: it must match "
              f"{STUDY_ID.pattern}", file=sys.stderr)  # fmt: skip
        return 2
    unknown = unknown_study(study) if study is not None else None
    if unknown:
        print(f"cdisc {args.command}: error: {unknown}", file=sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except UserError as exc:
        print(f"cdisc {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
