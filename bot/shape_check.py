"""Checks the shape of ``handlers/`` (run by ``make lint``): no function longer than
``LONGEST`` lines, and no import circle among its modules.

A handler a newcomer can read in a minute is short; a flow whose modules import each
other cannot be read, tested or changed on its own. Imports are read from the source
(every ``import``, in a function or under ``TYPE_CHECKING`` too), nothing is imported.

    python -m bot.shape_check [ROOT]
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "handlers"
LONGEST = 60


def _modules(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def long_functions(root: Path) -> Iterator[str]:
    for name, path in _modules(root).items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                length = (node.end_lineno or node.lineno) - start + 1
                if length > LONGEST:
                    where = path.relative_to(root)
                    yield f"{where}:{node.lineno}: {name}.{node.name} is {length} lines long"


def _imported(name: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        for target in targets:
            # The longest known module the target names (a module, or a name in one).
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target != PACKAGE:
                found.add(target)
    return found


def circles(root: Path) -> list[list[str]]:
    """The import circles among the package's modules (strongly connected components
    of more than one module), each sorted."""
    modules = _modules(root)
    graph = {name: _imported(name, path, set(modules)) for name, path in modules.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else Path(__file__).resolve().parent.parent
    problems = list(long_functions(root))
    problems += [f"import circle: {' -> '.join(circle)}" for circle in circles(root)]
    for problem in problems:
        print(problem)
    count = len(_modules(root))
    if problems:
        print(f"handlers' shape: {len(problems)} problem(s) in {count} modules")
        return 1
    print(f"handlers' shape: {count} modules, no function over {LONGEST} lines, no import circle")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
