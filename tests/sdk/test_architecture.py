"""The runtime package's structure: feature packages in a fixed order, no cycles, nothing
from the developer tools.

The layers, bottom first, are what the README's layout table describes: a module may
import its own layer and the layers below it, never one above. A newcomer reads the SDK
in this order, and a change that needs an upward import is a change of architecture,
made here on purpose rather than by accident.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "wearit_storage"
#: The CDK app: deployed code too (it synthesizes what runs), under the same rule.
INFRASTRUCTURE = PACKAGE.parent / "cdk"
#: Top-level packages the runtime may never import: the developer tools beside it.
DEVELOPER_TOOLS = frozenset({"wearit_local", "tests", "benchmarks", "moto"})
#: At most this many modules at the top of the package: the public face and shared rules.
TOP_LEVEL_MODULES = 12

#: Bottom first. Names are modules (``paths``) or packages (``s3``) of ``wearit_storage``.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"categories", "errors", "_version"}),  # the vocabulary
    frozenset({"paths", "observability", "renditions", "faces"}),  # rules every feature uses
    frozenset({"imaging"}),  # pixels: knows no bucket
    frozenset({"settings"}),  # the environment's configuration
    frozenset({"delivery"}),  # the CDN: signed URLs and cookies, the one seam of image URLs
    frozenset({"s3"}),  # the bucket: client, presigning, listings, versions
    frozenset({"uploads"}),  # getting images in: all-or-nothing store, direct uploads
    frozenset({"privacy"}),  # erasure, export, usage
    frozenset({"repository"}),  # the WearIT operations, sync and async
    frozenset({"workers"}),  # the repository run from a queue
    frozenset({"cli", "fastapi", "__init__", "__main__"}),  # the faces callers use
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path, modules: frozenset[str] = frozenset()) -> set[str]:
    """What ``path`` imports, as absolute names (relative imports resolved).

    ``from pkg import name`` imports ``pkg.name`` when that is one of ``modules``, and
    ``pkg`` (what its ``__init__`` defines) otherwise.
    """
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
            for alias in node.names:
                qualified = f"{base}.{alias.name}"
                names.add(qualified if qualified in modules else base)
    return names


def _unit(module: str) -> str:
    """The layer unit a module belongs to: its top-level module or package name."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _layer_of(unit: str) -> int:
    for index, layer in enumerate(LAYERS):
        if unit in layer:
            return index
    raise AssertionError(f"wearit_storage.{unit} is in no layer: add it to LAYERS")


def _internal_imports() -> dict[str, set[str]]:
    """Module -> the modules of the SDK it imports."""
    paths = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    modules = frozenset(paths)
    return {
        name: {i for i in _imported(path, modules) if i in modules} - {name}
        for name, path in paths.items()
    }


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [(PACKAGE, DEVELOPER_TOOLS | {"cdk"}), (INFRASTRUCTURE, DEVELOPER_TOOLS)],
    ids=["wearit_storage", "cdk"],
)
def test_the_runtime_packages_import_no_developer_tool(
    package: Path, forbidden: frozenset[str]
) -> None:
    for path in package.rglob("*.py"):
        roots = {name.split(".")[0] for name in _imported(path)}
        assert not roots & forbidden, f"{path} imports {roots & forbidden}"


def test_every_module_and_package_has_a_layer() -> None:
    units = {_unit(name) for name in _internal_imports()}
    assert units == set().union(*LAYERS)


def test_no_layer_imports_one_above_it() -> None:
    upward = [
        f"{module} imports {imported}"
        for module, imported_modules in _internal_imports().items()
        for imported in imported_modules
        if _layer_of(_unit(imported)) > _layer_of(_unit(module))
    ]
    assert upward == []


def test_the_modules_import_each_other_without_cycles() -> None:
    graph = _internal_imports()
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        raise AssertionError(f"import cycle: {' -> '.join(error.args[1])}") from None


def test_the_top_level_holds_only_the_public_face_and_the_shared_rules() -> None:
    modules = sorted(path.stem for path in PACKAGE.glob("*.py"))
    assert len(modules) <= TOP_LEVEL_MODULES, modules


def test_the_import_graph_sees_real_imports() -> None:
    # A reader that missed imports would pass every check above.
    graph = _internal_imports()
    assert "wearit_storage.s3.client" in graph["wearit_storage.repository"]
    assert "wearit_storage.imaging.budget" in graph["wearit_storage.imaging.processor"]
