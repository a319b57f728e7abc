"""The widgets' front end lives in files (`photolab/widgets/static/`): every module a widget
sends the browser is valid JavaScript, no Python source holds JavaScript or a stylesheet, a
tile and a cover are styled once for the widgets and the early HTML, and every file is used."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path

import anywidget
import traitlets

import photolab.widgets  # noqa: F401  (imports every widget module)
from photolab.widgets import early, front

from .conftest import REPO

STATIC = REPO / "photolab" / "widgets" / "static"


def _widgets() -> list[type]:
    found, todo = [], [anywidget.AnyWidget]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("photolab.") and "_esm" in vars(sub):
                found.append(sub)
    return found


def _module(widget: type) -> str:
    """A widget class's module (anywidget makes `_esm` a trait once one is built)."""
    value = vars(widget)["_esm"]
    return value.default_value if isinstance(value, traitlets.TraitType) else value


def test_every_widget_module_is_valid_javascript(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "scripts/setup.sh installs nodejs"
    widgets = _widgets()
    assert {w.__name__ for w in widgets} >= {"Timeline", "Viewer", "Covers", "WhenOpened",
                                             "ChartHook"}
    for widget in widgets:
        code = _module(widget)
        module = tmp_path / f"{widget.__name__}.mjs"
        module.write_text(code)
        done = subprocess.run([node, "--check", str(module)], capture_output=True, text=True)
        assert done.returncode == 0, (widget.__name__, done.stderr)
        assert "export default" in code


def test_a_broken_module_is_caught(tmp_path: Path) -> None:
    """The check above can fail: node refuses a module with a syntax error."""
    bad = tmp_path / "bad.mjs"
    bad.write_text(front.text("timeline.mjs").replace("function render(", "function render(("))
    assert subprocess.run(["node", "--check", str(bad)], capture_output=True).returncode != 0


def _strings(tree: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)]


def test_no_javascript_or_stylesheet_in_python() -> None:
    for path in sorted((REPO / "photolab").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for text in _strings(tree):
            assert "function render" not in text and "export default" not in text, path
            assert not ("{" in text and any(k in text for k in (
                "font-size:", "display: flex", "grid-template"))), path
        for node in ast.walk(tree):  # no code assembled by string replacement
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr == "replace" and node.args \
                    and isinstance(node.args[0], ast.Constant) \
                    and str(node.args[0].value).startswith("/*"):
                raise AssertionError(f"{path}: a placeholder replaced in code")


def test_a_tile_and_a_cover_are_styled_once() -> None:
    from photolab.widgets.covers import Covers
    from photolab.widgets.photos import Timeline

    tiles, covers = front.text("tiles.css"), front.text("covers.css")
    def sheet(widget: type) -> str:
        value = vars(widget)["_css"]
        return value.default_value if isinstance(value, traitlets.TraitType) else value

    assert tiles in sheet(Timeline) and tiles in early._CSS
    assert covers in sheet(Covers) and covers in early._CSS
    rules = "".join(front.text(n) for n in ("timeline.css", "early.css", "viewer.css"))
    for selector in (".photolab-tile", ".pe-box", ".photolab-cover img", ".pe-cover img"):
        # styled nowhere but in the shared sheets (a state such as `.photolab-picked
        # .photolab-tile` may be the timeline's own)
        assert not re.search(rf"(^|[}},])\s*{re.escape(selector)}\s*[{{,]", rules), selector


def test_every_static_file_is_used_and_shipped() -> None:
    sources = "".join(p.read_text() for p in (REPO / "photolab").rglob("*.py"))
    for f in STATIC.iterdir():
        assert f'"{f.name}"' in sources or f"'{f.name}'" in sources, f.name
    pyproject = (REPO / "pyproject.toml").read_text()
    for ext in {f.suffix for f in STATIC.iterdir()}:
        assert f'"static/*{ext}"' in pyproject, ext
