"""The runtime package's import structure: no cycles, nothing from the developer tools."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "wearit_storage"
#: Top-level packages the SDK may never import: the developer tools beside it.
FORBIDDEN = {"wearit_local", "cdk", "tests", "benchmarks", "moto"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative imports resolved)."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path.parent)
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return names


def _graph() -> dict[str, set[str]]:
    """Module -> modules it needs. A package's ``__init__`` only re-exports, so an import of
    a package stands for what that ``__init__`` imports."""
    paths = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    packages = {name for name, path in paths.items() if path.name == "__init__.py"}
    direct = {
        name: {i for i in _imports(path) if i in paths} - {name} for name, path in paths.items()
    }

    def resolve(name: str, seen: frozenset[str]) -> set[str]:
        if name not in packages:
            return {name}
        found: set[str] = set()
        for inner in direct[name] - seen:
            found |= resolve(inner, seen | {name})
        return found

    return {
        name: set().union(*(resolve(i, frozenset({name})) for i in deps)) - {name}
        for name, deps in direct.items()
        if name not in packages
    }


def test_the_sdk_imports_no_developer_tool() -> None:
    for path in PACKAGE.rglob("*.py"):
        roots = {name.split(".")[0] for name in _imports(path)}
        assert not roots & FORBIDDEN, f"{path.name} imports {roots & FORBIDDEN}"


def test_the_sdk_modules_import_each_other_without_cycles() -> None:
    graph = _graph()
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as error:
        raise AssertionError(f"import cycle: {' -> '.join(error.args[1])}") from None
    # The layers a newcomer reads bottom-up: rules first, faces and the CLI last.
    assert order.index("wearit_storage.categories") < order.index("wearit_storage.paths")
    assert order.index("wearit_storage.client") < order.index("wearit_storage.repository")
    assert order.index("wearit_storage.repository") < order.index("wearit_storage.cli")
