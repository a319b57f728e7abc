"""`photolab serve` holds against what a browser never sends: malformed websocket frames,
piles of page loads, disabled buttons clicked anyway, tracebacks, paths and logout."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from photolab import Library
from photolab.server.frames import BadFrame, check, check_v1
from photolab.server.voila import PREHEATED

from .conftest import REPO, copy_files
from .serving import Server, serve

TOKEN = "guard-token"
V1 = "v1.kernel.websocket.jupyter.org"


def v1_frame(channel: str, msg: dict, buffers: tuple[bytes, ...] = ()) -> bytes:
    """A v1 frame as the browser builds it."""
    parts = [json.dumps(msg[k]).encode() for k in ("header", "parent_header", "metadata",
                                                    "content")] + list(buffers)
    offsets = [8 * (1 + 1 + len(parts) + 1)]
    offsets.append(offsets[-1] + len(channel))
    for p in parts:
        offsets.append(offsets[-1] + len(p))
    head = len(offsets).to_bytes(8, "little") + b"".join(o.to_bytes(8, "little")
                                                         for o in offsets)
    return head + channel.encode() + b"".join(parts)


def message(msg_type: str, content: dict | None = None) -> dict:
    return {"header": {"msg_id": os.urandom(8).hex(), "msg_type": msg_type, "session": "s",
                       "username": "", "version": "5.3", "date": "2026-12-01T00:00:00Z"},
            "parent_header": {}, "metadata": {}, "content": content or {}}


# -- frames, without a server -------------------------------------------------------------

def test_well_formed_frames_pass_and_name_their_type() -> None:
    assert check_v1(v1_frame("shell", message("comm_msg"))) == ("shell", "comm_msg")
    assert check(v1_frame("shell", message("comm_msg"), (b"\x00" * 10,)), V1) == (
        "shell", "comm_msg")


@pytest.mark.parametrize("frame", [
    bytes.fromhex("0000000001000000"),  # the 8-byte frame: 2**32 offsets
    b"", b"\x00" * 7, (2**63).to_bytes(8, "little"), (6).to_bytes(8, "little"),
    (6).to_bytes(8, "little") + b"\xff" * 48,  # offsets far past the end
    v1_frame("shell", message("execute_request", {"code": "import os"})),  # not for pages
    v1_frame("iopub", message("comm_msg")),
    v1_frame("shell", message("comm_msg")) + b"tail",
    v1_frame("shell", message("comm_msg"), tuple(b"x" for _ in range(40))),
    v1_frame("shell", message("comm_msg"), (b"x" * (5 << 20),)),
    "text on a binary protocol",
])
def test_malformed_v1_frames_are_refused(frame: bytes) -> None:
    with pytest.raises(BadFrame):
        check_v1(frame)


def test_the_legacy_protocol_is_refused() -> None:
    legacy = json.dumps({**message("comm_info_request"), "channel": "shell"})
    with pytest.raises(BadFrame, match="v1"):
        check(legacy, None)


def test_random_frames_never_pass_or_hang() -> None:
    rng = random.Random(7)
    t = time.perf_counter()
    good = v1_frame("shell", message("comm_msg"))
    for _ in range(5000):
        n = rng.choice([0, 1, 5, 8, 9, 16, 64, 300])
        frames = [bytes(rng.getrandbits(8) for _ in range(n)), bytearray(good)]
        frames[1][rng.randrange(32)] ^= 1 << rng.randrange(8)  # the count, 3 first offsets
        for frame in frames:
            with pytest.raises(BadFrame):
                check_v1(bytes(frame))
    assert time.perf_counter() - t < 10


def test_voila_internals_are_as_checked() -> None:
    """Every private part of Voilà and jupyter_server photolab uses is in
    `photolab.server.internals`, read against the pinned versions: a new release (or a
    name gone) fails here, before it can break the kernel cap silently."""
    import re

    from photolab.server import internals

    assert internals.problems() == []
    pyproject = (REPO / "pyproject.toml").read_text()
    for name, version in internals.CHECKED.items():
        assert f'"{name}=={version}"' in pyproject, name
    server = REPO / "photolab" / "server"
    for path in server.glob("*.py"):  # no other module reaches into them
        if path.name != "internals.py":
            text = path.read_text()
            assert not re.search(r"\._(pools|kernel_connections|initialize)\b|"
                                 r"get_rendered_notebook\s*=", text), path


# -- a real server ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def guest_lib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("served")
    copy_files(tmp / "p", ["dupes/fr_obama-1080p.jpg", "dupes/fr_obama-720p.jpg"])
    with Library(tmp / "lib") as lib:
        lib.ingest([tmp / "p"], show_progress=False, skip=["faces", "people"])
    return tmp / "lib"


@contextmanager
def server(libdir: Path, tmp: Path, *flags: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """A server of a test's own (its log in `tmp/serve.log`)."""
    with serve(libdir, tmp / "serve.log", *flags, token=TOKEN) as running:
        yield running.base, running.proc


@pytest.fixture(scope="module")
def served_guest(guest_lib: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One read-only server for the tests here that need no server of their own."""
    log = tmp_path_factory.mktemp("guest") / "serve.log"
    with serve(guest_lib, log, "--read-only", token=TOKEN) as running:
        yield running


def get(url: str, timeout: float = 60) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def open_page(base: str, page: str = "places.ipynb") -> str:
    """Load a dashboard page; returns its kernel id."""
    status, body = get(f"{base}/voila/render/{page}?token={TOKEN}", timeout=120)
    assert status == 200, body[:500]
    return re.search(r'"kernelId": "([0-9a-f-]{36})"', body).group(1)


def rss_mb(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) / 1024


def kernels(pid: int) -> int:
    """Kernel processes the server started."""
    n = 0
    for d in Path("/proc").iterdir():
        try:
            stat = (d / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"ipykernel" in (
                    d / "cmdline").read_bytes():
                n += 1
        except (OSError, ValueError, IndexError):
            continue
    return n


def answers_fast(base: str) -> float:
    t = time.perf_counter()
    status, _ = get(f"{base}/login", timeout=5)
    assert status == 200
    return time.perf_counter() - t


async def send_frames(url: str, frames: list[bytes | str], subprotocol: str | None) -> int:
    """Send frames on a kernel websocket (reconnecting when the server closes it); returns
    how many times it was closed."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    closed = 0
    ws = None
    for frame in frames:
        if ws is None:
            ws = await websocket_connect(HTTPRequest(url), subprotocols=[subprotocol]
                                         if subprotocol else None)
        await ws.write_message(frame, binary=isinstance(frame, bytes))
        while True:  # what the server says to it (a status message, say), until it closes
            try:
                msg = await asyncio.wait_for(ws.read_message(), 0.5)
            except TimeoutError:
                break
            if msg is None:
                closed += 1
                ws = None
                break
    if ws is not None:
        ws.close()
    return closed


async def request_every_state(url: str) -> str:
    """Over the legacy protocol: ask for the comms, then every comm's state."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    ws = await websocket_connect(HTTPRequest(url))
    await ws.write_message(json.dumps({**message("comm_info_request"), "channel": "shell"}))
    while True:
        reply = await asyncio.wait_for(ws.read_message(), 30)
        if reply is None:
            return "closed"
        msg = json.loads(reply) if isinstance(reply, str) else {}
        if msg.get("msg_type") == "comm_info_reply":
            break
    for comm in msg["content"]["comms"]:
        await ws.write_message(json.dumps({**message("comm_msg", {
            "comm_id": comm, "data": {"method": "request_state"}}), "channel": "shell"}))
    return "answered"


@pytest.mark.slow
def test_malformed_frames_cannot_stall_the_server(served_guest: Server) -> None:
    base, proc = served_guest.base, served_guest.proc
    kid = open_page(base)
    ws = f"{base.replace('http', 'ws')}/api/kernels/{kid}/channels?token={TOKEN}"
    assert answers_fast(base) < 1
    rss0 = rss_mb(proc.pid)
    # the 8-byte frame from the report, then random and near-valid frames, both protocols
    rng = random.Random(3)
    frames: list[bytes | str] = [bytes.fromhex("0000000001000000")]
    for _ in range(60):
        frames.append(bytes(rng.getrandbits(8) for _ in range(rng.choice([8, 16, 64]))))
        good = bytearray(v1_frame("shell", message("comm_msg")))
        good[rng.randrange(len(good))] = rng.getrandbits(8)
        frames.append(bytes(good))
    closed = asyncio.run(send_frames(ws, frames, V1))
    assert closed >= 60
    # the legacy protocol: comm_info_request, then request_state to every comm, hung it
    assert asyncio.run(request_every_state(ws)) == "closed"
    for _ in range(5):
        assert answers_fast(base) < 1
    assert rss_mb(proc.pid) < rss0 + 100  # flat, not growing by 30-100 MB a second
    # the page's own traffic still works: a fresh page loads
    open_page(base)
    assert "bad frame" in served_guest.logged()


@pytest.mark.slow
def test_page_loads_leave_at_most_the_cap_alive(guest_lib: Path, tmp_path: Path) -> None:
    """Its own server: a kernel cap of 3, reclaimed after 2 s."""
    cap = 3
    with server(guest_lib, tmp_path, "--read-only", "--max-kernels", str(cap),
                "--voila-arg=--CappedKernelManager.reclaim_after_s=2") as (base, proc):
        alive: list[int] = []
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                alive.append(kernels(proc.pid))
                stop.wait(0.1)

        watcher = threading.Thread(target=watch)
        watcher.start()
        codes = []
        try:
            for _ in range(5):  # one after another: closed pages' kernels are reclaimed once
                # idle for `reclaim_after_s` (a page run ahead is served at once, so the
                # fourth may first be told to try again)
                deadline = time.monotonic() + 60
                while (code := get(f"{base}/voila/render/places.ipynb?token={TOKEN}",
                                   120)[0]) == 503 and time.monotonic() < deadline:
                    time.sleep(0.5)
                codes.append(code)
            results: list[tuple[int, str]] = []

            def load() -> None:
                results.append(get(f"{base}/voila/render/places.ipynb?token={TOKEN}", 120))

            threads = [threading.Thread(target=load) for _ in range(45)]  # all at once
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            stop.set()
            watcher.join()
        assert codes == [200] * 5
        assert len(results) == 45
        refused = [body for status, body in results if status == 503]
        assert refused and all("Too many pages open" in b for b in refused)
        assert all("Traceback" not in b and str(guest_lib) not in b for _, b in results)
        # the cap counts pages; the home and photos pages' kernels run ahead besides
        assert max(alive) <= cap + len(PREHEATED), max(alive)
        assert kernels(proc.pid) <= cap + len(PREHEATED)


@pytest.mark.slow
def test_pages_run_ahead_count_once_taken(guest_lib: Path, tmp_path: Path) -> None:
    """A kernel run ahead (preheated) that a page took counts against the cap, from the
    moment it is taken (however long ago it ran), and is reclaimed like any other, whether
    or not the page ever connects (a crawler, curl); a page run ahead is refused when the
    cap is reached, as a page run on request is. Its own server (a cap of 1); over 20 s: it
    waits for six pages to run ahead, then twice for a 10 s reclaim."""
    cap, reclaim_s = 1, 10
    with server(guest_lib, tmp_path, "--read-only", "--max-kernels", str(cap),
                f"--voila-arg=--CappedKernelManager.reclaim_after_s={reclaim_s}") as (base, proc):
        log = tmp_path / "serve.log"
        deadline = time.monotonic() + 240
        while log.read_text().count("has run ahead") < len(PREHEATED):
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        time.sleep(reclaim_s)  # the kernels run ahead have been idle longer than reclaim_s
        taken = time.monotonic()
        assert get(f"{base}/voila/render/photos.ipynb?token={TOKEN}", 120)[0] == 200
        # the one taken counts, though it never connects: another page run ahead is refused
        status, body = get(f"{base}/voila/render/albums.ipynb?token={TOKEN}", 120)
        assert time.monotonic() - taken < reclaim_s, "too slow to tell"
        assert status == 503 and "Too many pages open" in body
        # once it has been idle for `reclaim_after_s`, it is reclaimed and the page served
        while get(f"{base}/voila/render/albums.ipynb?token={TOKEN}", 120)[0] != 200:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        assert time.monotonic() - taken >= reclaim_s
        while kernels(proc.pid) > cap + len(PREHEATED):
            assert time.monotonic() < deadline, f"{kernels(proc.pid)} kernels alive"
            time.sleep(0.2)
        assert "reclaiming kernel" in log.read_text()


@pytest.mark.slow
def test_a_page_asked_for_while_kernels_start_ahead_is_served(guest_lib: Path,
                                                              tmp_path: Path) -> None:
    """Kernels being started ahead (in the kernel map before their start returns, with no
    activity yet) are neither a page's kernels under the cap nor candidates to reclaim: the
    first page, asked for as soon as the server listens, is served (it was a 500 when the
    reclaim read a starting kernel's activity, or a 503 for a cap full of pages to come)."""
    # its own server: a cap of 1, asked for as soon as it listens
    with server(guest_lib, tmp_path, "--read-only", "--max-kernels", "1") as (base, _):
        log = tmp_path / "serve.log"
        status, _ = get(f"{base}/voila/render/places.ipynb?token={TOKEN}", 120)
        text = log.read_text()
        assert status == 200, text[-3000:]
        assert "Traceback" not in text and "refused a page" not in text


def test_logout_works(served_guest: Server) -> None:
    base = served_guest.base
    req = urllib.request.Request(f"{base}/logout")
    opener = urllib.request.build_opener(urllib.request.HTTPRedirectHandler())
    with opener.open(req, timeout=30) as r:
        assert r.status == 200 and "/login" in r.url


async def _exchange(url: str, frames: list[bytes], seconds: float) -> list[bytes | str]:
    """Send frames and collect what the server sends back for `seconds`."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    ws = await websocket_connect(HTTPRequest(url), subprotocols=[V1])
    for f in frames:
        await ws.write_message(f, binary=True)
    got: list[bytes | str] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = await asyncio.wait_for(ws.read_message(), left)
        except TimeoutError:
            break
        if msg is None:
            break
        got.append(msg)
    ws.close()
    return got


@pytest.mark.slow
def test_guests_get_no_tracebacks_paths_or_writes(guest_lib: Path,
                                                  served_guest: Server) -> None:
    from .test_guests import snapshot

    before = snapshot(guest_lib)  # taken while it serves: it has written nothing
    base = served_guest.base
    status, body = get(f"{base}/voila/render/duplicates.ipynb?token={TOKEN}", 120)
    assert status == 200 and str(guest_lib.parent) not in body
    kid = re.search(r'"kernelId": "([0-9a-f-]{36})"', body).group(1)
    models = re.findall(r'"model_id": "([0-9a-f]{32})"', body)
    assert models
    # malformed widget updates to the page's widget (its state comes over the socket)
    states = [{"box_style": 3}, {"children": ["IPY_MODEL_nowhere"]},
              {"layout": "IPY_MODEL_nowhere"}, {"_dom_classes": 7}]
    bad = [v1_frame("shell", message("comm_msg", {"comm_id": m, "data": {
        "method": "update", "state": state, "buffer_paths": []}}))
        for m in models for state in states]
    ws = f"{base.replace('http', 'ws')}/api/kernels/{kid}/channels?token={TOKEN}"
    replies = asyncio.run(_exchange(ws, bad, 5))
    text = "\n".join(r.decode(errors="replace") if isinstance(r, bytes) else r
                     for r in replies)
    assert "Traceback" not in text and "site-packages" not in text
    assert str(guest_lib.parent) not in text
    for page in ("home.ipynb", "people.ipynb", "places.ipynb"):
        assert get(f"{base}/voila/render/{page}?token={TOKEN}", 120)[0] == 200
    assert snapshot(guest_lib) == before  # no -wal/-shm, thumbnails, index or trash
    assert not list(guest_lib.glob("*-wal")) and not list(guest_lib.glob("*-shm"))
