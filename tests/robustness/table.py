"""Write docs/robustness.md: every robustness case and its expected outcome, from the test
suite's own definitions (tests/robustness/cases.py, the hostile-configuration and fuzz
tests, and the kill points of tests/test_kill.py). tests/robustness/test_table.py fails
when the committed file differs from what this module generates.

    .venv/bin/python -m tests.robustness.table          # rewrite docs/robustness.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.robustness.cases import CASES

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "docs" / "robustness.md"

HOSTILE = {
    "test_cli_refuses_a_study_id_that_is_a_path": (
        "`cdisc run|where --study` and `cdisc-sample --study` with `../x`, `/etc`, "
        "`POMMAINT/../../tmp`, lower case, a trailing newline, `.` or nothing",
        "refused (exit 2, one message); nothing created",
    ),
    "test_unknown_sample_study_is_one_message": (
        "`cdisc-sample` for a study without a sample generator",
        "refused (exit 2, one message, no traceback)",
    ),
    "test_spec_dataset_names_cannot_reach_other_files": (
        "study.yaml listing an SDTM or ADaM dataset `../../../outside`, `/etc/passwd` or "
        "`DM/../../x`",
        "refused (SpecError naming study.yaml) before any file is opened",
    ),
    "test_yaml_tags_never_construct_objects": (
        "`!!python/object/apply:os.mkdir` in forms.yaml, ct_map.yaml, sdtm/dm.yaml "
        "(study.yaml: tests/test_specs.py::test_yaml_is_loaded_safely)",
        "refused (not valid YAML); the code never runs",
    ),
    "test_study_folder_linking_out_of_landing_is_not_read": (
        "the study's landing folder is a symbolic link to a folder outside the landing",
        "not read: no export found",
    ),
    "test_export_folder_linking_out_of_landing_is_not_read": (
        "an export folder is a symbolic link out of the landing",
        "not read: no export found",
    ),
    "test_manifest_linking_out_of_landing_is_refused": (
        "export.json is a symbolic link out of the landing",
        "export refused: export.json leaves the landing folder",
    ),
    "test_a_hook_setting_holding_a_password_is_never_logged": (
        "CDISC_ON_FAILURE set to a URL with a password",
        "refused; logged with the credentials masked (`https://***@host`)",
    ),
    "test_a_hook_error_quoting_a_connection_url_is_masked": (
        "the failure hook raises an error quoting a database URL with its password",
        "logged with the credentials masked; the run's own error still raised",
    ),
    "test_a_store_that_cannot_be_written_fails_the_night_in_one_message": (
        "the run folder cannot be made: read-only store (EROFS), full disk (ENOSPC), no "
        "permission (EACCES); injected into os.mkdir",
        "`cdisc run` exits 2 with one message naming the path and the fault (rule "
        "FILE-SYSTEM); `current` unchanged; once fixed the night reads its export",
    ),
    "test_a_full_disk_while_writing_the_snapshot_is_named": (
        "ENOSPC while extract writes the raw snapshot (lb.parquet)",
        "exit 2, one message naming raw/lb.parquet and ENOSPC, reports/failure.json says "
        "extract; `current` unchanged",
    ),
    "test_a_full_disk_at_publish_leaves_nothing_half_written": (
        "ENOSPC as publish puts manifest.json, or the new `current` link, in place",
        "the fault names both paths; no manifest.json and no temporary file left, `current` "
        "as it was; publishing again once there is room switches `current`",
    ),
    "test_something_unexpected_where_the_store_keeps_its_folders_is_named": (
        "a file where `runs/` should be, a file or a folder where `current` should be, a "
        "file where the study's folder should be",
        "exit 2, one message naming the path and what is there (rule FILE-SYSTEM), the "
        "thing left as it is; once moved away the night reads its export",
    ),
    "test_exports_not_read_are_logged_and_shown_by_where_and_status": (
        "an export older than the published one and a folder `backup` in the landing (a "
        "hidden `.<id>.tmp` copy in progress too)",
        "each logged as a warning with why it is not read, and listed by `cdisc where` and "
        "`cdisc status`; the copy in progress is not",
    ),
    "test_cli_failure_is_one_message_without_secrets": (
        "`cdisc run` (failing night) with passwords in AIRFLOW__DATABASE__SQL_ALCHEMY_CONN "
        "and AIRFLOW__CELERY__BROKER_URL",
        "neither password in its output nor in any file of the store",
    ),
    "test_no_secret_in_logs_or_outputs": (
        "`cdisc run` (publishing night) with the same passwords in the environment",
        "neither password in its output, logs, reports or outputs",
    ),
}
IN_CORPUS = frozenset(
    {"test_cli_failure_is_one_message_without_secrets", "test_no_secret_in_logs_or_outputs"}
)
FUZZ = {
    "test_every_real_date_in_every_layout_reads_back": (
        "any real date 1800-2200 written in each date layout a spec may name",
        "read back as the same ISO 8601 date, never flagged",
    ),
    "test_any_text_is_read_as_a_real_date_or_flagged": (
        "any text (and date-like text) as a raw date, in each layout",
        "a real (partial) ISO 8601 date that round-trips, or empty and flagged ISO8601",
    ),
    "test_standardise_converts_exactly_or_lists_the_unit": (
        "any result text (numbers, `<0.05`, `1,5`, `2 mg`, Unicode) with known, unknown "
        "and missing units",
        "converted by the spec's factor and offset to the declared decimals, the number "
        "equal to the text shown, or listed UNIT with its row; text results kept as text",
    ),
    "test_xpt_accepts_and_reads_back_exactly_or_names_every_refusal": (
        "any frame of text (Unicode, control characters, 200+ bytes) and numbers (NaN, "
        "infinity, beyond the IBM range, integers beyond 2**53)",
        "written and read back by pyreadstat value for value, or XptError naming each "
        "variable, rule and row (and nothing written)",
    ),
    "test_a_hostile_odm_document_is_read_exactly_or_refused_by_name": (
        "any CDISC ODM document of LB records (parse level): another or empty StudyOID, "
        "UTF-8, UTF-16, Latin-1 or a mismatched encoding, any Unicode value (control "
        "characters too), every TransactionType on records, items and subjects, an unknown "
        "one, repeated keys and items, missing SubjectKey, ItemGroupOID or ItemOID, "
        "undefined item groups, items and visits, typed ItemData, records outside their "
        "FormData or inside an AuditRecord (150 examples; 3,000 passed once)",
        "read exactly as ODM 1.3.2's transactions give (a model of the rule), nothing lost; "
        "or refused with one message naming the file, record, item and rule (a valid "
        "document only by the rule the model names); never another exception",
    ),
    "test_any_manifest_is_read_as_written_or_refused_naming_its_cause": (
        "any export.json: generated manifests (wrong types, huge and non-finite numbers, "
        "bad file names, missing and extra keys), any JSON, any bytes; UTF-8, UTF-16, "
        "Latin-1; nested up to 100,000 deep",
        "read key for key exactly when the contract holds, else refused naming export.json, "
        "field and rule; never a traceback",
    ),
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _corpus() -> list[str]:
    lines = [
        "| case | bad input | export.json | decided at | expected outcome | message / listing "
        "must name | engine fix it found |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for case in CASES:
        names = [f"`{m}`" for m in case.message] + [
            f"{i.report}: {i.file} row {i.row if i.row is not None else '-'} {i.column} [{i.rule}]"
            for i in case.listing
        ]
        lines.append(
            f"| {case.id} | {_cell(case.what)} | {case.manifest} | {case.stage} | "
            f"{case.expected} | {_cell('; '.join(names)) or '-'} | {_cell(case.fix) or '-'} |"
        )
    return lines


def _tests(table: dict[str, tuple[str, str]], module: str) -> list[str]:
    lines = ["| test | input | expected outcome |", "| --- | --- | --- |"]
    for name, (what, outcome) in table.items():
        where = "tests/robustness/test_corpus.py" if name in IN_CORPUS else module
        lines.append(f"| `{where}::{name}` | {_cell(what)} | {_cell(outcome)} |")
    return lines


def _kills() -> list[str]:
    from tests.test_kill import KILLS, SEED, kill_chains

    chains = kill_chains()
    lines = [
        f"`tests/test_kill.py` runs `cdisc run` on night 2 with night 1 published and sends "
        f"SIGKILL at {KILLS} points drawn with seed {SEED} (after N progress lines of the "
        "job, then a delay); a point in the ADaM job starts from night 2's published SDTM. "
        f"The points form {len(chains)} chains ({', '.join(f'`{c}`' for c in chains)}), "
        "each in the order of its job: the run after a kill is the next point's run, which "
        "must get past every earlier kill's leftovers to its own point (all but a chain's "
        "last point must find the run alive), and the chain's last kill is followed by a "
        "complete rerun. Expected after every kill: `current` is a complete run whose "
        "manifest matches every file; after the rerun, its SDTM and ADaM equal an "
        "uninterrupted run's byte for byte.",
        "",
        "| kill point | chain | job | after progress lines | then wait (s) | expected outcome |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    i = 0
    for chain, points in chains.items():
        for n, (job, count, delay) in enumerate(points, start=1):
            i += 1
            outcome = "current complete" + ("; rerun byte-identical" if n == len(points) else "")
            lines.append(f"| {i} | {chain} | {job} | {count} | {delay:.3f} | {outcome} |")
    lines.append(
        "| retry | - | map LB killed mid-task, publish retried after the switch "
        "(`test_a_task_retried_after_a_crash_neither_duplicates_nor_loses`) | - | - | "
        "no duplicate or lost record; outputs equal a clean run's |"
    )
    return lines


def render() -> str:
    parts = [
        "# Robustness: hostile and broken inputs, killed runs",
        "",
        "Generated by `.venv/bin/python -m tests.robustness.table` from the test suite's "
        "case definitions; `tests/robustness/test_table.py` fails when this file is stale.",
        "",
        "Every case runs against the real engine with night 1 (the clean 15-subject sample) "
        "published. **Fails** means: `cdisc run` exits 2 with one message naming file, row "
        "or line, column and rule (no traceback), the run's `reports/failure.json` says "
        "which stage, and `current` (link and every byte under it) is unchanged; every "
        "record read is in the run's raw snapshot (`raw/extract.json` counts them). "
        "**Publishes** means: `reports/reconciliation.csv` accounts for every raw record "
        "and the problem is in the listing named.",
        "",
        "export.json: `regenerated` (the EDC wrote the bad file and a manifest that "
        "matches it), `stale` (the transfer broke a file after the manifest was written), "
        "`edc-rows` (checksums match, the EDC's record count does not), `absent` (no "
        "manifest, files settled).",
        "",
        "The form size limit is `CDISC_MAX_FORM_BYTES` (bytes): a bigger form file is "
        "refused before it is read. A file read whole (ODM, SAS, XPT: a few times its size "
        "in memory; ODM XML is parsed as a stream) has a default limit of 1 GiB; a CSV "
        "form, which extract reads a block at a time, has none unless it is set.",
        "",
        "## Bad-input corpus (`tests/robustness/test_corpus.py`)",
        "",
        *_corpus(),
        "",
        "## Hostile configuration (`tests/robustness/test_hostile.py`)",
        "",
        *_tests(HOSTILE, "tests/robustness/test_hostile.py"),
        "",
        "## Fuzzing (`tests/robustness/test_fuzz.py`, hypothesis, bounded examples)",
        "",
        *_tests(FUZZ, "tests/robustness/test_fuzz.py"),
        "",
        "## Killed processes (`tests/test_kill.py`)",
        "",
        *_kills(),
        "",
    ]
    return "\n".join(parts)


def main() -> int:
    TARGET.write_text(render(), encoding="utf-8")
    print(f"written: {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
