#!/usr/bin/env bash
# usage: scripts/output_digests.sh REPO OUTDIR
# Runs both studies (SDTM + ADaM; 40-subject POMMAINT sample, the CDISCPILOT01 fixture export)
# with REPO's code and writes OUTDIR/sums.txt: the SHA-256 of every run file, run ids,
# timings and OUTDIR masked in text reports. Diff two of them to prove a refactor changed
# no output byte (or list exactly what it changed).
set -euo pipefail
REPO=$(realpath "$1"); OUT=$(realpath -m "$2")
rm -rf "$OUT"; mkdir -p "$OUT/landing/CDISCPILOT01/20260101T000000Z"
cd "$REPO"
PY="$REPO/.venv/bin/python"
export PYTHONPATH="$REPO:${PYTHONPATH:-}"
$PY - "$OUT" <<'PY'
import sys, time, os, shutil
from datetime import datetime, UTC
from pathlib import Path
out = Path(sys.argv[1])
from samplegen import generate_export
generate_export("POMMAINT", subjects=40, seed=20261123, out=out/"landing", export_time=datetime(2026,11,23,2,0,0,tzinfo=UTC))
exp = out/"landing"/"CDISCPILOT01"/"20260101T000000Z"
for p in sorted(Path("tests/fixtures/cdiscpilot01_raw").glob("*.csv")):
    shutil.copyfile(p, exp/p.name); os.utime(exp/p.name, (time.time()-3600,)*2)
from transforms.cli import main
for s in ("POMMAINT", "CDISCPILOT01"):
    rc = main(["-q", "run", "--study", s, "--landing", str(out/"landing"), "--store", str(out/"store")])
    assert rc == 0, (s, rc)
PY
$PY - "$OUT" <<'PY'
import hashlib, re, sys
from pathlib import Path
out = Path(sys.argv[1]); lines = []
RID = re.compile(rb"\d{8}T\d{6}(\d{6})?Z(-[0-9A-Za-z]+)*")
for study in ("POMMAINT", "CDISCPILOT01"):
    for run in sorted((out / "store" / study / "runs").iterdir()):
        kind = "adam" if "-adam-" in run.name else "sdtm"
        for f in sorted(run.rglob("*")):
            rel = f.relative_to(run)
            if not f.is_file() or "gx_docs" in rel.parts or f.name in ("manifest.json", "adam_run.json", "extract.json", ".running", "steps.json"):
                continue
            data = f.read_bytes()
            if f.suffix in (".html", ".txt", ".md", ".csv"):
                data = re.sub(rb"\(\d+\.\d+ s\)", b"(T s)", RID.sub(b"RUNID", data.replace(str(out).encode(), b"OUT")))
            lines.append(f"{hashlib.sha256(data).hexdigest()}  {study}/{kind}/{rel}")
(out / "sums.txt").write_text("\n".join(sorted(lines, key=lambda l: l.split("  ")[1])) + "\n")
print(len(lines), "files")
PY
