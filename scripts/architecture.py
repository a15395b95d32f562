"""Facts about the engine's shape, read from the code, and the pictures of
``docs/architecture.md`` made from them.

    python scripts/architecture.py          # rewrite the generated blocks of the page
    python scripts/architecture.py --check  # exit 1 when the page no longer tells the truth

The import graph counts every ``import`` of an engine module, at module level or inside a
function (a lazy import is still a dependency), except those under ``if TYPE_CHECKING:``.
``tests/test_architecture.py`` holds the engine to it: no import circle, no module
importing another's underscore names, and a page whose pictures equal what this makes.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINE = "transforms"
PAGE = ROOT / "docs" / "architecture.md"
BLOCK = re.compile(r"(<!-- generated: (?P<name>[a-z-]+) -->\n)(.*?)(<!-- end -->)", re.DOTALL)


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def engine_modules(root: Path = ROOT) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted((root / ENGINE).rglob("*.py"))}


def _type_checking_only(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement outside ``if TYPE_CHECKING:`` blocks."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if _type_checking_only(child):
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child
            stack.append(child)


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Engine module -> the engine modules it imports."""
    modules = engine_modules(root)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in _imports(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = _resolve(name, node, path.name == "__init__.py")
                # `from pkg import mod` names a module; `from mod import thing` the module.
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                    for a in node.names
                ]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and target != ENGINE:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def private_imports(root: Path = ROOT) -> list[str]:
    """``file: module._name`` for each underscore name that a file of the engine, the
    scripts, DAGs or benchmark takes from an engine module other than its own: imported
    by name, or read as an attribute of an imported engine module. (Unit tests may look
    inside the module they test.)"""
    found = []
    modules = engine_modules(root)
    files = [p for d in (ENGINE, "scripts", "dags", "benchmarks")
             for p in sorted((root / d).rglob("*.py"))]  # fmt: skip
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bound: dict[str, str] = {}  # local name -> engine module it is
        for node in _imports(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules:
                        bound[alias.asname or alias.name] = alias.name
                continue
            base = node.module or ""
            if not base.startswith(ENGINE):
                continue
            for alias in node.names:
                if f"{base}.{alias.name}" in modules:
                    bound[alias.asname or alias.name] = f"{base}.{alias.name}"
                elif alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{path.relative_to(root)}: {base}.{alias.name}")
        for seen in ast.walk(tree):
            if (
                isinstance(seen, ast.Attribute)
                and isinstance(seen.value, ast.Name)
                and seen.value.id in bound
                and seen.attr.startswith("_")
                and not seen.attr.startswith("__")
            ):
                found.append(f"{path.relative_to(root)}: {bound[seen.value.id]}.{seen.attr}")
    return sorted(set(found))


# --- pictures ----------------------------------------------------------------------------


def _node(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def job_picture(study: str = "POMMAINT") -> str:
    """The study's two jobs as a Mermaid flowchart, straight from the plan."""
    sys.path.insert(0, str(ROOT))
    from transforms.jobs.plan import jobs
    from transforms.studies import read_study_info

    info = read_study_info(ROOT / "sdtm_specs" / study / "study.yaml")
    lines = ["```mermaid", "flowchart LR"]
    for job in jobs(info, ROOT / "sdtm_specs"):
        prefix = job.kind
        lines.append(f"  subgraph {prefix}[{job.dag_id}]")
        for step in job.steps:
            lines.append(f'    {prefix}_{_node(step.id)}["{step.id}"]')
        for step in job.steps:
            for upstream in step.after:
                lines.append(f"    {prefix}_{_node(upstream)} --> {prefix}_{_node(step.id)}")
        lines.append("  end")
        if job.emits:
            lines.append(f"  {prefix}_{_node(job.publishing)} -. Asset {job.emits} .-> adam")
    lines.append("```")
    return "\n".join(lines)


def _area(module: str) -> str:
    """The part of the engine a module belongs to: its subpackage, or itself at the top."""
    parts = module.split(".")
    return ".".join(parts[:2])


def package_picture(root: Path = ROOT) -> str:
    """Which part of the engine imports which, as a Mermaid flowchart (top-level modules
    and subpackages; arrows point at what is imported)."""
    arrows: set[tuple[str, str]] = set()
    for module, targets in import_graph(root).items():
        for target in targets:
            a, b = _area(module), _area(target)
            if a != b:
                arrows.add((a, b))
    areas = sorted({a for pair in arrows for a in pair})
    lines = ["```mermaid", "flowchart TB"]
    lines += [f'  {_node(a)}["{a.removeprefix(ENGINE + ".")}"]' for a in areas]
    lines += [f"  {_node(a)} --> {_node(b)}" for a, b in sorted(arrows)]
    lines.append("```")
    return "\n".join(lines)


PICTURES: dict[str, Callable[[], str]] = {"jobs": job_picture, "imports": package_picture}


def render(page: str) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in PICTURES:
            raise SystemExit(f"{PAGE}: unknown generated block {name!r}")
        return f"{match.group(1)}{PICTURES[name]()}\n{match.group(4)}"

    return BLOCK.sub(fill, page)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the page is stale")
    args = parser.parse_args(argv)
    page = PAGE.read_text(encoding="utf-8")
    fresh = render(page)
    if args.check:
        if fresh != page:
            print(f"{PAGE} is stale: run python scripts/architecture.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
