"""The served app's upload handler: `PUT /photolab/upload?name=IMG_0001.HEIC` streams one
file to disk (a part file beside the uploads, never through a kernel's websocket), then
hands it to `Library.add_files` as the signed-in member, and starts an ingest of the
uploads in the background (`photolab ingest`, one at a time). Editors and the owner only: a
viewer, a guest server or a removed member is refused before a byte is kept.

Answers JSON: what `add_files` says of the file (`status`, `photo_id`, `reason`).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import tornado.web
from jupyter_server.base.handlers import JupyterHandler

from .. import uploads
from ..errors import PhotolabError
from ..library import Library
from ..settings import Settings
from .members import SHARE_PREFIX, member_of

ROUTE = r"/photolab/upload"
_INGESTING = threading.Lock()


def _library_root() -> Path:
    return Path(os.environ["PHOTOLAB_LIBRARY"])


def ingest_later(root: Path) -> None:
    """Run every stage on the uploads in a process of its own, unless one runs already (it
    picks up what arrived meanwhile: it is started again when it ends while more came)."""
    def run() -> None:
        while _INGESTING.acquire(blocking=False):
            try:
                before = _uploaded(root)
                subprocess.run([sys.executable, "-m", "photolab.cli", "ingest", "--library",
                                str(root), "--quiet", str(uploads.uploads_dir(root))],
                               check=False, stdin=subprocess.DEVNULL)
            finally:
                _INGESTING.release()
            if _uploaded(root) == before:
                return

    threading.Thread(target=run, name="photolab-upload-ingest", daemon=True).start()


def _uploaded(root: Path) -> int:
    from ..catalog import Catalog

    c = Catalog(root / "catalog.sqlite", read_only=True)
    try:
        return int(c.frame("SELECT count(*) FROM decisions WHERE kind = 'upload'").item())
    finally:
        c.close()


@tornado.web.stream_request_body
class UploadHandler(JupyterHandler):
    """One file per request, streamed to a part file; see the module's docstring."""

    part: Path | None = None
    out: Any = None

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()  # signs the request in (token, cookie)
        if self.request.method not in ("PUT", "GET"):
            raise tornado.web.HTTPError(405)
        if self.current_user is None:
            raise tornado.web.HTTPError(403, "sign in first")
        if self.current_user.username.startswith(SHARE_PREFIX):  # (the gate says so first)
            raise tornado.web.HTTPError(404)
        member = member_of(self.current_user)
        if os.environ.get("PHOTOLAB_READONLY") or (member is not None
                                                   and member["role"] != "editor"):
            raise tornado.web.HTTPError(403, "viewers add no photos")
        self.member = None if member is None else str(member["name"])
        if self.request.method == "GET":
            return
        try:
            self.name = uploads.check_name(self.get_argument("name", ""))
        except PhotolabError as e:
            raise tornado.web.HTTPError(400, str(e)) from None
        root = _library_root()
        limit = Settings.load(root).max_upload_mb * 2**20
        size = int(self.request.headers.get("Content-Length") or 0)
        if size > limit:
            raise tornado.web.HTTPError(413, f"larger than max_upload_mb ({limit >> 20} MB)")
        if size + uploads.DISK_MARGIN_BYTES > uploads.free_bytes(root):
            raise tornado.web.HTTPError(507, "not enough room on the disk")
        self.request.connection.set_max_body_size(limit)
        self.part = uploads.part_file(root)
        self.out = open(self.part, "wb")  # noqa: SIM115 (closed in put or on_connection_close)

    def get(self) -> None:
        """May this browser upload? (and its XSRF cookie, which each PUT then sends back)"""
        _ = self.xsrf_token  # sets the `_xsrf` cookie
        self.finish({"may": True})

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Errors as JSON (`message`), for the page to show (no HTML error page)."""
        error = kwargs.get("exc_info", (None, None))[1]
        message = getattr(error, "log_message", None) or self._reason
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": "refused", "reason": message, "message": message}))

    def data_received(self, chunk: bytes) -> None:
        self.out.write(chunk)

    def on_connection_close(self) -> None:
        """A tab closed or a network gone midway: nothing of it is kept."""
        self._drop()

    def on_finish(self) -> None:
        self._drop()

    def _drop(self) -> None:
        if self.out is not None:
            self.out.close()
        if self.part is not None:
            self.part.unlink(missing_ok=True)

    async def put(self) -> None:
        self.out.close()
        root, part = _library_root(), self.part

        def add() -> dict[str, Any]:
            with Library(root, member=self.member) as lib:
                row = lib.add_files([part], names=[self.name], keep_source=False,
                                    ingest=False).row(0, named=True)
            return row

        try:
            row = await asyncio.get_running_loop().run_in_executor(None, add)
        except PhotolabError as e:  # refused by the library (a role changed meanwhile)
            raise tornado.web.HTTPError(403, str(e)) from None
        if row["status"] == "added":
            ingest_later(root)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(row))


def handlers(server_url: str) -> list[tuple[str, type, dict[str, Any]]]:
    from jupyter_server.utils import url_path_join

    return [(url_path_join(server_url, ROUTE), UploadHandler, {})]
