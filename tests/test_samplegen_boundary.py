"""The engine ships no synthetic-data code: nothing under transforms/ imports the sample
generator (tools/samplegen/, the `cdisc-samplegen` distribution), and the wheel a user
installs (cdisc-pipeline) holds no generator module. The generator may import the engine."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import samplegen
from tests.conftest import ROOT

GENERATOR = "samplegen"
ENGINE = ROOT / "transforms"


def imported(path: Path) -> set[str]:
    """Every module a file names in an import statement, or as a string that an
    importlib.import_module / __import__ call could load (any string constant naming one)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value.strip())
    return names


def _is_generator(module: str) -> bool:
    return module == GENERATOR or module.startswith(f"{GENERATOR}.")


def test_no_engine_module_imports_the_generator() -> None:
    files = sorted(ENGINE.rglob("*.py"))
    assert len(files) > 20 and ENGINE / "cli.py" in files
    offenders = {
        str(path.relative_to(ROOT)): sorted(filter(_is_generator, imported(path))) for path in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    # the scan does see imports: the generator's own entry module names the engine's
    generator_init = Path(samplegen.__file__)
    assert "transforms.studies" in imported(generator_init)
    assert generator_init.is_relative_to(ROOT / "tools" / "samplegen")
    assert not (ENGINE / "sample").exists()


def test_the_engine_wheel_holds_no_generator(tmp_path: Path) -> None:
    """Built as a user would get it, by its own build backend (pinned in pyproject.toml),
    from a copy of the files the build reads (so no stale build/ folder can leak in)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ENGINE, src / "transforms", ignore=shutil.ignore_patterns("__pycache__"))
    uv = Path(sys.executable).parent / "uv"  # installed into .venv by `make env`
    build = subprocess.run(
        [str(uv), "build", "--wheel", "--offline", "--quiet", "--out-dir", str(tmp_path / "dist"),
         str(src)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("cdisc_pipeline-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "transforms/cli.py" in names and "transforms/jobs/sdtm.py" in names
    tops = {name.split("/")[0] for name in names}
    assert tops == {"transforms", next(t for t in tops if t.endswith(".dist-info"))}
    leaked = [n for n in names if GENERATOR in n or n.startswith("transforms/sample/")]
    assert leaked == []


def test_the_installed_distributions_keep_to_their_packages() -> None:
    """In this environment: cdisc-pipeline provides `transforms` only, and `samplegen` comes
    from cdisc-samplegen alone (installed editable beside it by `make env`)."""
    owners = metadata.packages_distributions()
    assert set(owners.get("transforms", [])) == {"cdisc-pipeline"}
    assert set(owners.get(GENERATOR, [])) == {"cdisc-samplegen"}
    top_level = metadata.distribution("cdisc-pipeline").read_text("top_level.txt") or ""
    assert top_level.split() == ["transforms"]
    scripts = {e.name for e in metadata.distribution("cdisc-pipeline").entry_points}
    assert scripts == {"cdisc"}
    assert {e.name for e in metadata.distribution("cdisc-samplegen").entry_points} == {
        "cdisc-sample"
    }
