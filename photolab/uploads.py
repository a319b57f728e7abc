"""Adding photos from a member's phone or laptop (`Library.add_files`; the served app's
upload handler hands its files here).

Each file is checked by its content (exiftool's file type, not its name), its size
(`max_upload_mb`) and the room left on disk; a file whose content the library has already is
not stored again. A new one is moved into `<library>/uploads/<member>/<YYYY>/<MM>/` by its own
date, under the lock of the uploads folder (two members adding the same file at once store it
once), scanned at once, and recorded as an `upload` decision (who, when; `undo` moves it to
the library's trash and takes its rows out). The uploads folder is a source of the library:
the other stages run on it as on any folder. A file is first written beside the uploads
(`.partial/`, a suffix no scan picks up) and moved into place whole, so an interrupted
upload leaves nothing in the library or the catalog.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import PhotolabError

UPLOADS = "uploads"
PARTIAL = ".partial"
PART_SUFFIX = ".part"
#: a part file this old was left by an upload that died
STALE_PART_S = 3600
#: room kept free on the disk besides each file
DISK_MARGIN_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Added:
    """What became of one file: `status` "added", "already" (its content is in the library
    as `photo_id`) or "refused" (`reason` says why; nothing was kept)."""

    name: str
    status: str
    photo_id: int | None = None
    path: str | None = None
    reason: str | None = None


def uploads_dir(root: Path) -> Path:
    return root / UPLOADS


def part_file(root: Path) -> Path:
    """A new file to write an upload into before it is checked (never scanned)."""
    folder = uploads_dir(root) / PARTIAL
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"*{PART_SUFFIX}"):  # left by an upload that died
        if time.time() - old.stat().st_mtime > STALE_PART_S:
            old.unlink(missing_ok=True)
    return folder / f"{uuid.uuid4().hex}{PART_SUFFIX}"


def check_name(name: str) -> str:
    """The file's own name, or `PhotolabError` for a name with path parts."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name \
            or name.startswith("."):
        raise PhotolabError(f"{name!r} is not a file name (no folders, no hidden names)")
    return name


@contextmanager
def locked(root: Path) -> Iterator[None]:
    """The uploads folder's lock (between processes: each dashboard kernel is one)."""
    folder = uploads_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def destination(root: Path, member: str, tags: dict, name: str, extension: str) -> Path:
    """Where a file goes: `uploads/<member>/<YYYY>/<MM>/<name>` by its own capture date (the
    upload's date when it has none), with the extension its content has, and a number added
    when the name is taken."""
    when = next((str(tags[k]) for k in ("EXIF:DateTimeOriginal", "XMP:DateTimeOriginal",
                                         "QuickTime:CreateDate", "EXIF:CreateDate")
                 if str(tags.get(k, "")).strip()[:4].isdigit()
                 and not str(tags[k]).startswith("0000")), None)
    year, month = (when[:4], when[5:7]) if when else time.strftime("%Y/%m").split("/")
    folder = uploads_dir(root) / check_name(member) / year / month
    stem = Path(name).stem or "upload"
    target = folder / f"{stem}.{extension}"
    n = 1
    while target.exists():
        n += 1
        target = folder / f"{stem} ({n}).{extension}"
    return target


def free_bytes(root: Path) -> int:
    folder = uploads_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(folder).free


def refuse_reason(tags: dict | None, error: str | None, size: int, max_mb: int,
                  free: int, extensions: Sequence[str]) -> tuple[str | None, str]:
    """Why a file is refused (None: it is not), and the extension its content has."""
    if size > max_mb * 2**20:
        return f"larger than max_upload_mb ({size / 2**20:.0f} MB > {max_mb} MB)", ""
    if size == 0:
        return "an empty file", ""
    if size + DISK_MARGIN_BYTES > free:
        return f"not enough room on the disk ({free / 2**20:.0f} MB free)", ""
    mime = str((tags or {}).get("File:MIMEType", ""))
    ext = str((tags or {}).get("File:FileTypeExtension", "")).lower()
    if error or not mime.startswith(("image/", "video/")):
        kind = mime or (error or "unknown content").removeprefix("exiftool: ")
        return f"not a photo or a video ({kind})", ext
    if f".{ext}" not in set(extensions):
        return f"photolab does not read .{ext} files", ext
    return None, ext


def move_into_place(src: Path, dest: Path, keep_source: bool) -> None:
    """Put `src` at `dest` whole: a copy is written beside it first, then renamed."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not keep_source and os.stat(src).st_dev == os.stat(dest.parent).st_dev:
        os.replace(src, dest)
        return
    tmp = dest.parent / f".{uuid.uuid4().hex}{PART_SUFFIX}"
    try:
        shutil.copy2(src, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    if not keep_source:
        src.unlink(missing_ok=True)


def undo_upload(root: Path, value: dict, photo_id: int | None) -> None:
    """Move an uploaded file to the library's trash (the undo of its `upload`); its rows are
    taken out by the caller, in the undo's transaction."""
    src = Path(value["path"])
    if src.exists():
        dest = root / "trash" / str(photo_id) / src.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(src, dest)
