"""The package's shape: no import cycles (imports inside functions count), and a long module
says at its top why it is long."""

from __future__ import annotations

import ast
from pathlib import Path

from .conftest import REPO

PACKAGE = REPO / "photolab"
LONG = 400


def _module(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(tree: ast.AST) -> set[int]:
    """Line numbers of imports under `if TYPE_CHECKING:` (never run)."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            lines |= {n.lineno for b in node.body for n in ast.walk(b) if hasattr(n, "lineno")}
    return lines


def import_graph() -> dict[str, set[str]]:
    """photolab module -> the photolab modules it imports, wherever in the file."""
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        skip = _type_checking_only(tree)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skip:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                mod = (f"{base}.{node.module}" if node.module else base) if node.level else (
                    node.module or "")
                # `from . import x` may name a module
                targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in modules else mod
                           for a in node.names]
            for t in targets:
                while t and t not in modules:
                    t = t.rpartition(".")[0]
                if t and t != name and not name.startswith(t + "."):
                    graph[name].add(t)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_checker_sees_a_cycle_through_a_function_import() -> None:
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    graph = import_graph()
    assert "photolab.catalog" in graph["photolab.library"]
    assert "photolab.ray_engine" in graph["photolab.ingest"]  # imported inside a method


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def service_graph() -> dict[str, set[str]]:
    """Library attribute -> the services its constructor takes (`photolab.library`)."""
    import inspect

    from photolab.library import SERVICES

    return {name: {p for p in inspect.signature(cls.__init__).parameters
                   if p not in ("self", "ctx")} for name, cls in SERVICES.items()}


def test_the_services_use_each_other_without_a_cycle() -> None:
    """Each domain's service takes the services it uses in its constructor: the graph they
    make is the map of which domain uses which, and it has no cycle. Only ingest takes the
    whole library (its stages call every domain)."""
    graph = service_graph()
    assert graph["ingest"] == {"library"}
    rest = {k: v for k, v in graph.items() if k != "ingest"}
    for name, uses in rest.items():
        assert uses <= set(rest), f"{name} takes {uses - set(rest)}, which is no service"
    assert cycles(rest) == []
    assert cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b"]]


def test_every_library_verb_hands_the_call_to_its_service() -> None:
    """Every public method of `Library` is a verb of one service (with its signature and
    `@writes` mark), so notebooks keep `lib.people()` while the code lives in its domain."""
    import inspect

    from photolab import Library
    from photolab.access import is_writing
    from photolab.library import SERVICES, VERBS

    public = {n for n, m in inspect.getmembers(Library, inspect.isfunction)
              if not n.startswith("_")} - {"close"}
    handed = {v for names in VERBS.values() for v in names}
    assert public == handed
    assert sum(len(v) for v in VERBS.values()) == len(handed)  # each verb in one service
    for service, names in VERBS.items():
        for name in names:
            own = getattr(SERVICES[service], name)
            verb = getattr(Library, name)
            assert verb.service == service and verb.__doc__ == own.__doc__, name
            assert inspect.signature(verb) == inspect.signature(own), name
            assert is_writing(verb) == is_writing(own), name


def test_no_service_reaches_into_anothers_private_parts() -> None:
    """A service calls the public verbs of the services it uses, never their private
    methods (`self.photos._x`), and the stages call public functions of their domain
    (`lib.faces.detect`, not `lib._run_faces`)."""
    from photolab.library import SERVICES

    reached = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                continue
            owner = node.value
            if (isinstance(owner, ast.Attribute) and isinstance(owner.value, ast.Name)
                    and owner.value.id in ("self", "lib") and owner.attr in SERVICES) or (
                    isinstance(owner, ast.Name) and owner.id == "lib"
                    and path.name == "stages.py"):
                reached.append(f"{path.relative_to(REPO)}:{node.lineno} {ast.unparse(node)}")
    assert not reached, reached


def test_a_long_module_says_why_at_its_top() -> None:
    unexplained = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        if text.count("\n") > LONG:
            doc = ast.get_docstring(ast.parse(text)) or ""
            if "Why this module is long" not in doc:
                unexplained.append(f"{path.relative_to(REPO)}: {text.count(chr(10))} lines")
    assert not unexplained, unexplained


def test_the_environment_holds_only_what_the_project_declares() -> None:
    """Every distribution in this environment is required, directly or not, by photolab with
    the extras scripts/setup.sh installs: a package left over from an older declaration would
    let the tests pass here and fail on a fresh machine (as anywidget once did)."""
    import re
    import sys
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    if sys.prefix == sys.base_prefix:
        import pytest

        pytest.skip("not in the project's virtual environment")
    setup = (REPO / "scripts/setup.sh").read_text()
    extras = tuple(re.search(r'-e "\.\[([^\]]+)\]"', setup).group(1).split(","))
    seen: set[tuple[str, tuple[str, ...]]] = set()
    todo = [("photolab", extras)]
    while todo:
        name, ex = todo.pop()
        if (canonicalize_name(name), ex) in seen:
            continue
        seen.add((canonicalize_name(name), ex))
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            req = Requirement(text)
            if req.marker is None or any(req.marker.evaluate({"extra": e})
                                         for e in (ex or ("",))):
                todo.append((req.name, tuple(sorted(req.extras))))
    declared = {name for name, _ in seen}
    # what pip installed here (Ray puts its vendored packages on sys.path once imported)
    import sysconfig

    site = list({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})
    installed = {canonicalize_name(d.metadata["Name"])
                 for d in metadata.distributions(path=site)}
    assert "anywidget" in declared  # plotly's FigureWidget needs it
    assert installed - declared <= {"pip", "setuptools", "wheel"}, installed - declared
