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


# -- libraries through their public API only ---------------------------------------------
#
# The SDK once read Pillow's C decoder through memory offsets, bound libwebp with structs
# copied by hand and called Pillow's private functions: each broke silently with the next
# release of a library pinned only from below. These checks read the source (AST), so they
# hold for code that never runs in the tests too.

#: ctypes calls that read or write memory at an address, or turn an integer into a pointer.
_MEMORY_ACCESS = frozenset(
    {"string_at", "wstring_at", "cast", "memmove", "memset", "addressof", "from_address"}
)
#: Base classes that lay out a native library's structs.
_CTYPES_LAYOUTS = frozenset(
    {"Structure", "Union", "BigEndianStructure", "LittleEndianStructure", "BigEndianUnion"}
)
#: Pillow internals that are attributes of images and decoders, not of a module.
_PILLOW_INTERNALS = frozenset({"decoderconfig", "decodermaxblock", "load_prepare"})


def _bound_to(tree: ast.Module, package: str) -> dict[str, str]:
    """Local names bound to ``package`` or to names inside it: local name -> dotted origin."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == package:
                    local = alias.asname or alias.name.split(".")[0]
                    bound[local] = alias.name if alias.asname else package
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == package:
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bound


def _dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, else ``None``."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _resolved(node: ast.expr, bound: dict[str, str]) -> str | None:
    """The dotted origin of ``node`` when it starts with a name bound by an import."""
    dotted = _dotted(node)
    if dotted is None:
        return None
    head, _, rest = dotted.partition(".")
    if head not in bound:
        return None
    return f"{bound[head]}.{rest}" if rest else bound[head]


def memory_reads(source: str) -> list[str]:
    """Reads of object memory: ctypes calls at an address, ``from_address``, ``id()``
    handed to ctypes (CPython's ``id`` is the object's address)."""
    tree = ast.parse(source)
    ctypes_names = _bound_to(tree, "ctypes")
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "from_address":
            found.append(f"line {node.lineno}: .from_address")
        if not isinstance(node, ast.Call):
            continue
        origin = _resolved(node.func, ctypes_names) or ""
        if origin.rsplit(".", 1)[-1] in _MEMORY_ACCESS:
            found.append(f"line {node.lineno}: {origin}()")
        if ctypes_names and isinstance(node.func, ast.Name) and node.func.id == "id":
            found.append(f"line {node.lineno}: id() in a module that uses ctypes")
    return found


def ctypes_layouts(source: str) -> list[str]:
    """Classes laying out native structs (ctypes ``Structure`` & co., or ``_fields_``)."""
    tree = ast.parse(source)
    ctypes_names = _bound_to(tree, "ctypes")
    found: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        bases = {(_resolved(base, ctypes_names) or "").rsplit(".", 1)[-1] for base in node.bases}
        fields = any(
            isinstance(statement, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "_fields_" for t in statement.targets)
            for statement in node.body
        )
        if bases & _CTYPES_LAYOUTS or fields:
            found.append(f"line {node.lineno}: class {node.name}")
    return found


def private_pillow_names(source: str) -> list[str]:
    """Private Pillow API: ``_``-prefixed modules or attributes of PIL (and, in a module
    using Pillow, of the objects it handles), the decoder internals of its images, and
    assignments to an image's ``tile``."""
    tree = ast.parse(source)
    pil_names = _bound_to(tree, "PIL")
    found: list[str] = []

    def private(dotted: str) -> bool:
        return any(part.startswith("_") and not part.startswith("__") for part in dotted.split("."))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "PIL" and private(alias.name):
                    found.append(f"line {node.lineno}: import of {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            for imported in _bound_to(ast.Module(body=[node], type_ignores=[]), "PIL").values():
                if private(imported):
                    found.append(f"line {node.lineno}: import of {imported}")
        elif isinstance(node, ast.Attribute):
            origin = _resolved(node, pil_names)
            if origin is not None and private(origin):
                found.append(f"line {node.lineno}: {origin}")
            elif (
                pil_names
                and private(node.attr)
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            ):
                # In a module using Pillow, ``image._new(...)``: an image's private method.
                found.append(f"line {node.lineno}: ._{node.attr.lstrip('_')}")
            elif node.attr in _PILLOW_INTERNALS:
                found.append(f"line {node.lineno}: .{node.attr}")
            elif node.attr == "tile" and isinstance(node.ctx, ast.Store):
                found.append(f"line {node.lineno}: assignment to .tile")
    return found


_PUBLIC_API_CHECKS = {
    "reads object memory": memory_reads,
    "defines ctypes structures": ctypes_layouts,
    "uses a private Pillow name": private_pillow_names,
}


@pytest.mark.parametrize("check", sorted(_PUBLIC_API_CHECKS))
def test_the_sdk_uses_libraries_through_their_public_api_only(check: str) -> None:
    offences = {
        str(path.relative_to(PACKAGE.parent)): found
        for path in sorted(PACKAGE.rglob("*.py"))
        if (found := _PUBLIC_API_CHECKS[check](path.read_text()))
    }
    assert offences == {}, f"wearit_storage {check}: {offences}"


@pytest.mark.parametrize(
    ("check", "source"),
    [
        ("reads object memory", "import ctypes\nctypes.c_int.from_address(id(o) + 16).value"),
        ("reads object memory", "from ctypes import string_at\nstring_at(address, 8)"),
        ("reads object memory", "import ctypes as c\nc.cast(p, c.POINTER(c.c_int))"),
        ("defines ctypes structures", "import ctypes\nclass C(ctypes.Structure): pass"),
        ("defines ctypes structures", "from ctypes import Union\nclass U(Union): pass"),
        ("defines ctypes structures", "class S(Base):\n    _fields_ = [('x', int)]"),
        ("uses a private Pillow name", "from PIL import _webp"),
        ("uses a private Pillow name", "import PIL._imaging"),
        ("uses a private Pillow name", "from PIL._imaging import ImagingDecoder"),
        ("uses a private Pillow name", "from PIL import Image\nImage._getdecoder('RGB')"),
        ("uses a private Pillow name", "import PIL.ImageFile as F\nF._get_oserror(1)"),
        (
            "uses a private Pillow name",
            "from PIL import Image\nImage.new('L', (1, 1))._new(x)",
        ),
        ("uses a private Pillow name", "image.decodermaxblock = 1 << 20"),
        ("uses a private Pillow name", "image.load_prepare()"),
        ("uses a private Pillow name", "image.tile = []"),
    ],
)
def test_the_public_api_checks_see_each_kind_of_offence(check: str, source: str) -> None:
    # A check that sees nothing would pass on any code.
    assert _PUBLIC_API_CHECKS[check](source)


def test_the_public_api_checks_leave_ordinary_code_alone() -> None:
    for source in (
        "import ctypes.util\nname = ctypes.util.find_library('c')\n",
        "from PIL import Image, __version__\nimage = Image.open(f)\nsize = image.tile\n",
        "key = id(image)\nself._cache = {}\n",
    ):
        assert not any(check(source) for check in _PUBLIC_API_CHECKS.values()), source
