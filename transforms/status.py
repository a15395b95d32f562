"""A study's nights as the store records them (``cdisc status``): the publication, and
every run since it, published, failed (at which stage, and why) or skipped.

A run folder says how its run ended: ``manifest.json`` once published, else the
``reports/failure.json`` of the stage that stopped it (an ADaM run superseded by a newer
SDTM publication is a skip), else nothing (still running, or killed). A job that ended
before it made a run folder (nothing new, no complete export) is a line of the study's
night log (:func:`transforms.store.nights_log`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from transforms.store import RunFolder, current, nights_log, read_json

ADAM_MARK = "-adam-"  # an ADaM run's id: <SDTM run id>-adam-<started>


@dataclass(frozen=True)
class Night:
    """One job of one night: how it ended, and for a failure where and why."""

    started: str  # ISO time: the order of the listing
    job: str  # "SDTM" or "ADaM"
    state: str  # "published", "failed", "skipped", "unfinished"
    run: str = ""  # run id; "" for a job that made no run folder
    export: str = ""
    stage: str = ""
    reason: str = ""


def _started(run_id: str) -> str:
    """When a run began, from its id (for a run killed before it wrote its facts)."""
    stamp = run_id.split(ADAM_MARK)[-1][:15]
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%S").replace(tzinfo=UTC).isoformat()
    except ValueError:
        return ""


def _run_night(folder: Path) -> Night:
    run = RunFolder(folder)
    adam = ADAM_MARK in run.run_id
    facts = read_json(run.adam_info_path if adam else run.info_path)
    sdtm_run = run.run_id.split(ADAM_MARK)[0]
    export = sdtm_run.partition("-")[2] if adam else str(facts.get("export_id", ""))
    started = str(facts.get("started") or _started(run.run_id))
    night = {"started": started, "job": "ADaM" if adam else "SDTM", "run": run.run_id,
             "export": export.split(".")[0]}  # fmt: skip
    failure = read_json(run.failure)
    if run.manifest_path.exists():
        return Night(state="published", **night)
    if failure:
        skipped = failure.get("error") == "Superseded"
        reason = f"{failure.get('error', '')}: {failure.get('message', '')}"
        return Night(state="skipped" if skipped else "failed", stage=str(failure.get("stage", "")),
                     reason=reason, **night)  # fmt: skip
    return Night(state="unfinished", **night)


def _logged(store: Path, study: str) -> list[Night]:
    path = nights_log(store, study)
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    out = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut short by a crash
        job = "ADaM" if entry.get("job") == "adam" else "SDTM"
        reason = f"{entry.get('error', '')}: {entry.get('message', '')}"
        out.append(Night(str(entry.get("at", "")), job, str(entry.get("state", "")),
                         stage=str(entry.get("stage", "")), reason=reason))  # fmt: skip
    return out


def nights(store: Path, study: str) -> tuple[Night | None, list[Night]]:
    """The published run, and every night since it began (all nights when nothing is
    published yet), oldest first."""
    runs_dir = store / study / "runs"
    folders = sorted(p for p in runs_dir.iterdir() if p.is_dir()) if runs_dir.is_dir() else []
    published = current(store, study)
    every = sorted([_run_night(p) for p in folders] + _logged(store, study),
                   key=lambda n: n.started)  # fmt: skip
    now = next((n for n in every if published is not None and n.run == published.name), None)
    if now is None:
        return None, every
    # since the publication's SDTM run began: an ADaM publication's own SDTM run is not new
    own = {now.run, now.run.split(ADAM_MARK)[0]}
    begun = min(n.started for n in every if n.run in own)
    return now, [n for n in every if n.started >= begun and n.run not in own]


def _first_line(text: str, width: int = 160) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 3] + "..."


def landing_notes(study: str, store: Path, landing: Path | None) -> list[str]:
    """What the study's landing folder holds that no run reads, and why (folders that are
    not exports, exports older than the published one): lines for ``cdisc where|status``."""
    from transforms.extract.exports import ignored

    if landing is None:
        return []
    published = current(store, study)
    export = str(RunFolder(published).manifest().get("export_id", "")) if published else ""
    passed = ignored(landing, study, export)
    if not passed:
        return []
    return [f"landing {landing / study}: {len(passed)} not read:"] + [f"  {x}" for x in passed]


def describe(study: str, store: Path, landing: Path | None = None) -> str:
    """The status screen: the publication, then one line per night since, then what the
    landing folder holds that is not read (given `landing`)."""
    now, later = nights(store, study)
    if now is None:
        lines = [f"{study}: nothing published yet under {store}"]
    else:
        lines = [f"{study}: published run {now.run} ({now.job}, export {now.export}, "
                 f"started {now.started[:19]})"]  # fmt: skip
    lines.append(f"{len(later)} job(s) since:" if now is not None else f"{len(later)} job(s):")
    for n in later:
        what = f"{n.run or '(no run folder)'}"
        line = f"  {n.started[:19]}  {n.job:<4}  {n.state:<10}  {what}"
        if n.state in ("failed", "skipped"):
            at = f"at {n.stage}: " if n.stage else ""
            line += f"\n      {at}{_first_line(n.reason)}"
        lines.append(line)
    return "\n".join(lines + landing_notes(study, store, landing))
