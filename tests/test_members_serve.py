"""Family members through `photolab serve`, in two browser contexts at once: an editor names a
person under her own name, a viewer is refused, one member is undone, a removed member's link
stops working at once, and a wrong link gets the login page."""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import polars as pl
import pytest

from photolab import Library

from .conftest import PHOTOLAB, copy_files, env
from .serving import serve, shot

pytestmark = pytest.mark.slow  # servers, browsers, papermill or Ray

FACES = ["faces/fr_obama/obama.jpg", "faces/fr_obama/obama2.jpg", "faces/fr_obama/obama3.jpg",
         "faces/fr_biden/biden.jpg", "faces/fr_biden/biden2.jpg"]


def _status(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def test_members_come_in_as_themselves(tmp_path: Path, new_page) -> None:
    """Its own server: members (whose pages are never run ahead) and a member removed."""
    copy_files(tmp_path / "p", FACES)
    libdir = tmp_path / "lib"
    with Library(libdir) as lib:
        lib.ingest([tmp_path / "p"], show_progress=False, skip=["semantic", "tags", "captions"])
        alice = lib.add_member("Alice", "editor")
        bob = lib.add_member("Bob", "viewer")
    with serve(libdir, tmp_path / "serve.log", token="owner-only-token") as server:
        base = server.base
        page_url = f"{base}/voila/render/people.ipynb"
        a = new_page(1200, 900)
        b = new_page(390, 844)
        a.goto(f"{page_url}?token={alice}")
        b.goto(f"{page_url}?token={bob}")
        for page, who in ((a, "Alice (editor)"), (b, "Bob (viewer)")):
            page.get_by_text("2 groups left to name").wait_for(timeout=120_000)
            page.locator(".photolab-member", has_text=who).wait_for(timeout=30_000)
        # Bob looks, and is offered nothing to change
        assert b.get_by_role("button", name="Save name").is_hidden()
        assert b.get_by_text("View only").first.is_visible()
        b.screenshot(path=str(shot("member-viewer.png")), full_page=True)
        a.get_by_placeholder("Who is this?").fill("Barack Obama")
        a.get_by_role("button", name="Save name").click()
        a.get_by_text("are Barack Obama").wait_for(timeout=30_000)
        a.screenshot(path=str(shot("member-editor.png")), full_page=True)
        # Alice's cookie keeps her in on the next page, without the token in its link
        a.goto(f"{base}/voila/render/duplicates.ipynb")
        a.locator(".photolab-member", has_text="Alice (editor)").wait_for(timeout=120_000)
        # the owner removes Bob: his next page is the login page, at once
        done = subprocess.run([*PHOTOLAB, "members", "remove", "Bob", "--library",
                               str(libdir)], env=env(), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        b.goto(page_url)
        b.get_by_text("Password").first.wait_for(timeout=30_000)  # jupyter's login form
        assert "Bob" not in b.content()
        # a wrong, an old or a half token: the login page, never a traceback
        for token in ("wrong", bob, alice[:-3], "1.", "%00"):
            status, body = _status(f"{page_url}?token={token}")
            assert status in (200, 302, 403), token
            assert "Traceback" not in body and "photolab" not in body.lower(), token
            assert "login" in body.lower() or status == 403, token
        status, _ = _status(f"{page_url}?token={alice}")
        assert status == 200  # still a member
    with Library(libdir) as lib:
        named = lib.decisions("face_person")
        assert named["who"].to_list() == ["Alice"]
        assert lib.decisions(who="Bob").height == 0
        assert set(lib.people()["name"]) == {"Barack Obama"}
        assert lib.named_by()["who"].to_list() == ["Alice"]
        undone = lib.undo_member("Alice")
        assert len(undone) == named.height + lib.decisions("person_name").height
        assert lib.faces(encodings=False).filter(pl.col("assigned_by") == "user").height == 0
