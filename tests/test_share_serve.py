"""A shared album's link on `photolab serve`: every route the server has, walked with the
link's cookie, gives the album's page and its own kernel and nothing else; in Chromium the
link shows the album alone, read-only, and the login page once revoked or expired; an
editor makes a link from the album page. One server for the module (no case restarts it)."""

from __future__ import annotations

import http.cookiejar
import re
import sqlite3
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from photolab import Library
from photolab.albums.shares import share_link
from photolab.server.gate import ROUTE_LOG

from .serving import Server, serve, shot
from .test_shares import album_library, share_id

pytestmark = pytest.mark.slow

#: how each kind of group in the server's route patterns is filled in as the walk goes
KERNEL_GROUP = r"(?P<kernel_id>\w+-\w+-\w+-\w+-\w+)"
PATH_GROUP = r"(?P<path>(?:(?:/[^/]+)+|/?))"
ANY_GROUP = "(.*)"
ANY_SAMPLES = ("shared.ipynb", "home.ipynb", "albums.ipynb", "photos.ipynb", "",
               "../catalog.sqlite", "..%2Fcatalog.sqlite", "thumbs", "voila.js")
PATH_SAMPLES = ("", "/", "/home.ipynb", "/shared.ipynb")


@pytest.fixture(scope="module")
def served_share(tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[tuple[Server, Library, dict[str, str]]]:
    root = tmp_path_factory.mktemp("share-serve")
    lib = album_library(root)
    tokens = {"ada": lib.add_member("Ada", "editor"),
              "share": lib.share_album("Wedding", download=False)}
    with serve(lib.root, root / "serve.log") as server:
        yield server, lib, tokens
    lib.close()


def opener() -> urllib.request.OpenerDirector:
    """A browser's memory of cookies, no redirects followed (a 302 is an answer here)."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            return None

    jar = http.cookiejar.CookieJar()
    o = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    o.jar = jar  # type: ignore[attr-defined]
    return o


def fetch(o: urllib.request.OpenerDirector, url: str, method: str = "GET"
          ) -> tuple[int, bytes, str]:
    """A request as the page's own script makes it (a POST or DELETE carries the XSRF
    token the server gave, so what answers is the gate, not tornado's XSRF check)."""
    xsrf = next((c.value for c in o.jar if c.name == "_xsrf"), "")  # type: ignore[attr-defined]
    req = urllib.request.Request(url, method=method, data=b"" if method != "GET" else None,
                                 headers={"X-XSRFToken": xsrf} if method != "GET" else {})
    try:
        with o.open(req, timeout=120) as r:
            return r.status, r.read(), r.headers.get("Location") or ""
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("Location") or ""


def kernel_of(page: bytes) -> str:
    found = re.search(rb'kernelId": "([0-9a-f-]{36})"', page)
    assert found, page[:2000]
    return found.group(1).decode()


def routes(server: Server) -> list[tuple[str, str, str]]:
    """(pattern, handler, kind) of every route, as the server logged them when it started."""
    line = re.escape(ROUTE_LOG).replace("%s", r"(\S+)")
    found = re.findall(line, server.logged())
    assert len(found) >= 10, server.logged()[-3000:]
    return found


def urls(pattern: str, own: str, other: str) -> list[tuple[str, str]]:
    """Concrete paths for a route, each with what it targets (own/other kernel, a path)."""
    out = [(pattern, "")]
    for group, samples in ((KERNEL_GROUP, (own, other, str(uuid.uuid4()))),
                           (PATH_GROUP, PATH_SAMPLES), (ANY_GROUP, ANY_SAMPLES)):
        if group in pattern:
            out = [(p.replace(group, s, 1), s) for p, _ in out for s in samples]
    for path, _ in out:
        assert "(" not in path and "\\" not in path, f"a route the walk cannot fill in: {path}"
    return out


def test_every_route_gives_a_share_its_album_page_and_kernel_alone(served_share) -> None:
    server, lib, tokens = served_share
    guest = opener()
    status, page, _ = fetch(guest, share_link(server.base, tokens["share"]))
    assert status == 200
    own = kernel_of(page)
    status, owners_page, _ = fetch(opener(), server.page("albums.ipynb"))
    assert status == 200
    other = kernel_of(owners_page)
    names = [Path(p).name.encode() for p in lib.photos()["path"].to_list()]
    walked = {"open": 0, "page": 0, "kernel": 0, "closed": 0}
    # (the logout route last: it forgets the cookie the rest is walked with)
    for pattern, handler, kind in sorted(routes(server), key=lambda r: r[0].endswith("logout")):
        assert kind in walked, (pattern, handler, kind)
        for path, target in urls(pattern, own, other):
            for method in (("GET", "POST", "DELETE") if kind != "open" else ("GET",)):
                if method != "GET" and target == own:
                    continue  # (its own kernel: shutting it down is the page's to do)
                status, body, where = fetch(guest, server.base + path, method)
                walked[kind] += 1
                what = f"{method} {path} ({handler}, {kind}): {status}"
                if kind == "closed":
                    assert status == 404, what
                elif kind == "page":
                    allowed = target == "shared.ipynb" and method == "GET"
                    assert (status == 200) if allowed else status in (404, 405), what
                elif kind == "kernel":
                    assert (status != 404) if target == own else status == 404, what
                else:  # the page's furniture: nothing of the library in it
                    assert not body.startswith((b"\xff\xd8", b"RIFF")), what
                    assert not any(n in body for n in names), what
                    assert status != 302 or "login" in where or where.startswith("/"), what
    assert all(walked.values()), walked
    for path in ("/anything/else", "/files/catalog.sqlite", "/static/../catalog.sqlite"):
        assert fetch(guest, server.base + path)[0] == 404, path
    # signed out (the logout route, walked last): the album's page asks for the link again
    status, _, where = fetch(guest, f"{server.base}/voila/render/shared.ipynb")
    assert status == 302 and "/login" in where
    # the owner still reaches what the share may not
    assert fetch(opener(), server.page("home.ipynb"))[0] == 200
    assert fetch(opener(), f"{server.base}/api/kernels/{other}?token={server.token}")[0] == 200


def test_a_shared_link_in_chromium_then_revoked_and_expired(served_share, new_page) -> None:
    server, lib, _ = served_share
    token = lib.share_album("Wedding", download=False)
    link = share_link(server.base, token)
    page = new_page(390, 844)
    page.goto(link)
    page.get_by_role("heading", name="Wedding").wait_for(timeout=120_000)
    tiles = page.locator(".photolab-tile")
    tiles.nth(2).wait_for(timeout=120_000)
    page.wait_for_function("document.querySelectorAll('.photolab-tile').length >= 3")
    assert tiles.count() == 3  # the album's three, not the library's six
    assert page.locator(".photolab-select").is_hidden()
    assert page.locator("input:visible").count() == 0  # no search, no field to change
    page.screenshot(path=str(shot("share-phone.png")), full_page=True)
    tiles.first.click()
    page.locator(".photolab-viewer .pv-image").wait_for(timeout=60_000)
    assert page.locator(".pv-download").is_hidden() and page.locator(".pv-fav").is_hidden()
    assert page.locator(".pv-details", has_text="People").count() == 0
    page.screenshot(path=str(shot("share-viewer.png")))
    # revoked: the login page at the next request, the same cookie or the link again
    lib.revoke_share(share_id(token))
    for again in (f"{server.base}/voila/render/shared.ipynb", link):
        page.goto(again)
        page.locator("input[type=password]").first.wait_for(timeout=30_000)
        assert "/login" in page.url
    # expired (its time passed while the page was away): the same
    later = lib.share_album("Wedding", expires="1h")
    with sqlite3.connect(lib.root / "catalog.sqlite") as c:
        c.execute("UPDATE shares SET expires_at = ? WHERE share_id = ?",
                  ((datetime.now(UTC) - timedelta(seconds=1)).isoformat(), share_id(later)))
    page.goto(share_link(server.base, later))
    page.locator("input[type=password]").first.wait_for(timeout=30_000)


def test_an_editor_shares_an_album_from_its_page(served_share, new_page) -> None:
    server, lib, tokens = served_share
    ada = new_page(1200, 900)
    ada.goto(server.page("albums.ipynb", tokens["ada"]))
    ada.locator(".photolab-album", has_text="Wedding").first.click(timeout=120_000)
    ada.locator(".photolab-share").click(timeout=60_000)
    assert ada.locator("input.photolab-upload").count() == 1  # "Add photos" into it too
    ada.get_by_role("button", name="Make a link").click()
    field = ada.locator(".photolab-share-link input")
    ada.wait_for_function("document.querySelector('.photolab-share-link input') && "
                          "document.querySelector('.photolab-share-link input').value")
    link = field.input_value()
    assert link.startswith(f"{server.base}/voila/render/shared.ipynb?token=share-"), link
    ada.screenshot(path=str(shot("share-made.png")), full_page=True)
    assert lib.shares().filter(created_by="Ada").height == 1
    guest = new_page(1200, 900)
    guest.goto(link)
    guest.get_by_role("heading", name="Wedding").wait_for(timeout=120_000)
    guest.wait_for_function("document.querySelectorAll('.photolab-tile').length >= 3")
    assert guest.locator(".photolab-tile").count() == 3
