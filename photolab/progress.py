"""Progress reporting: tqdm bars in notebooks and terminals, plain lines in logs."""

from __future__ import annotations

import sys
import time
from typing import Any


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython  # type: ignore[import-not-found]
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


class LineProgress:
    """A tqdm-like counter that prints one plain line every `interval` seconds and at the end."""

    def __init__(self, total: int | None, desc: str, interval: float = 5.0, file: Any = None):
        self.total, self.desc, self.interval = total, desc, interval
        self.file = file or sys.stderr
        self.n = 0
        self._start = self._last = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._print()

    def _print(self) -> None:
        elapsed = max(time.monotonic() - self._start, 1e-9)
        of = f"/{self.total}" if self.total is not None else ""
        print(f"{self.desc}: {self.n}{of} ({self.n / elapsed:.1f}/s, {elapsed:.1f}s)",
              file=self.file, flush=True)

    def close(self) -> None:
        self._print()

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(total: int | None, desc: str, enabled: bool = True) -> Any:
    """Return a progress counter with `update(n)` and `close()`, usable as a context manager.

    In Jupyter this is a `tqdm.auto` widget bar, on a terminal a tqdm text bar, and when
    stderr is not a terminal (cron, papermill logs, CI) plain lines every few seconds.
    """
    if not enabled:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, disable=True)
    if _in_notebook():
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc)
    if sys.stderr.isatty():
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, file=sys.stderr)
    return LineProgress(total, desc)
