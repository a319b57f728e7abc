"""`photolab serve` for the tests: one way to start it, wait for it and stop it, and waits on
conditions (the server's log, a port, a predicate), never a fixed sleep."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .conftest import PHOTOLAB, env, free_port, wait_for_port

#: screenshots the browser tests keep (gitignored), to look at after a run
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts"
TOKEN = "family-token"


def shot(name: str) -> Path:
    SHOTS.mkdir(exist_ok=True)
    return SHOTS / name


def wait_until(ready: Callable[[], bool], what: str, timeout_s: float = 120) -> None:
    """Poll `ready` until it holds (fail after `timeout_s`, saying `what` never happened)."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s:.0f} s"
        time.sleep(0.1)


@dataclass
class Server:
    """A running `photolab serve`: its base URL, process, token and log file."""

    base: str
    proc: subprocess.Popen
    token: str
    log: Path

    def page(self, notebook: str, token: str | None = None) -> str:
        """The URL of a dashboard page (with the owner's token unless another is given)."""
        return f"{self.base}/voila/render/{notebook}?token={token or self.token}"

    def logged(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_logged(self, text: str, count: int = 1, timeout_s: float = 240) -> None:
        """Wait until the server's log says `text` (at least `count` times)."""
        wait_until(lambda: self.logged().count(text) >= count,
                   f"the server's log saying {text!r} {count} time(s)", timeout_s)


@contextmanager
def serve(libdir: Path, log: Path, *flags: str, token: str = TOKEN,
          command: list[str] | None = None, environ: dict[str, str] | None = None,
          cwd: Path | None = None) -> Iterator[Server]:
    """`photolab serve --library libdir` on a free port of 127.0.0.1, its output in `log`;
    stopped (SIGTERM, which it must obey) when the block ends.

    It is given 60 s to stop: it shuts down every kernel it started (up to 5 s each, in
    parallel, then killed), and on 2 busy cores eight kernels took over 15 s."""
    port = free_port()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*(command or PHOTOLAB), "serve", "--library", str(libdir), "--port", str(port),
             "--token", token, *flags], env=environ or env(), stdout=out, stderr=out, cwd=cwd)
        try:
            try:
                wait_for_port(port, proc, 120)
            except AssertionError as e:
                raise AssertionError(f"{e}\n{log.read_text(errors='replace')[-3000:]}") from None
            yield Server(f"http://127.0.0.1:{port}", proc, token, log)
        finally:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise AssertionError("the server did not stop within 60 s of SIGTERM:\n"
                                     + log.read_text(errors="replace")[-3000:]) from None
