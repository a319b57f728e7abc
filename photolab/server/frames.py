"""Check kernel-websocket frames from a browser before anything parses them for real.

jupyter_server's v1 deserializer trusts the frame's leading offset count (an 8-byte frame can
ask it to loop four billion times) and the legacy binary one builds a struct format as long as
the frame says. `check_v1` and `check_legacy` read the same layouts with every count and
offset bounded by the frame itself, and return the channel and message type, or raise
`BadFrame`. Pure functions: no server needed to test them.
"""

from __future__ import annotations

import json
import struct
from itertools import pairwise

#: what a dashboard page sends (the message types Voilà lets through)
ALLOWED_TYPES = frozenset({"comm_open", "comm_close", "comm_msg", "comm_info_request",
                           "kernel_info_request", "shutdown_request"})
ALLOWED_CHANNELS = frozenset({"shell", "control", "stdin"})
#: widget messages are small; binary buffers (images) flow the other way
MAX_FRAME_BYTES = 4 * 1024 * 1024
MAX_BUFFERS = 16
V1 = "v1.kernel.websocket.jupyter.org"


class BadFrame(ValueError):
    """A frame that is not a well-formed message a dashboard page sends."""


def _header(raw: bytes | str) -> dict:
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as e:
        raise BadFrame("header is not JSON") from e
    if not isinstance(header, dict) or not isinstance(header.get("msg_type"), str):
        raise BadFrame("header has no message type")
    return header


def _allowed(channel: object, header: dict) -> tuple[str, str]:
    if channel not in ALLOWED_CHANNELS:
        raise BadFrame(f"channel {str(channel)[:20]!r} is not for pages")
    if header["msg_type"] not in ALLOWED_TYPES:
        raise BadFrame(f"message type {header['msg_type'][:40]!r} is not for pages")
    return str(channel), header["msg_type"]


def _offsets(frame: bytes, fmt: str, width: int, count: int, first: int) -> list[int]:
    """`count` offsets after the count field, each within the frame, in order."""
    end = width * (count + 1)
    if len(frame) < end:
        raise BadFrame("frame shorter than its offset table")
    offsets = list(struct.unpack(f"{fmt}{count}{'Q' if width == 8 else 'I'}",
                                 frame[width:end]))
    if offsets[0] != first or any(b < a for a, b in pairwise(offsets)):
        raise BadFrame("offsets out of order")
    if offsets[-1] > len(frame):
        raise BadFrame("offset past the end of the frame")
    return offsets


def check_size(frame: bytes | str) -> None:
    if len(frame) > MAX_FRAME_BYTES:
        raise BadFrame(f"frame of {len(frame)} bytes is larger than pages send")


def check_v1(frame: bytes | str) -> tuple[str, str]:
    """Channel and message type of a v1-protocol frame (8-byte little-endian offsets).

    >>> check_v1(bytes.fromhex("0000000001000000"))
    Traceback (most recent call last):
    ...
    photolab.server.frames.BadFrame: 4294967296 offsets in a frame of 8 bytes
    """
    if not isinstance(frame, bytes):
        raise BadFrame("v1 frames are binary")
    check_size(frame)
    if len(frame) < 8:
        raise BadFrame("frame shorter than its offset count")
    n = int.from_bytes(frame[:8], "little")
    # channel, header, parent header, metadata, content, then at most MAX_BUFFERS buffers
    if not 6 <= n <= 6 + MAX_BUFFERS or 8 * (n + 1) > len(frame):
        raise BadFrame(f"{n} offsets in a frame of {len(frame)} bytes")
    offsets = _offsets(frame, "<", 8, n, 8 * (n + 1))
    if offsets[-1] != len(frame):
        raise BadFrame("frame longer than its parts")
    try:
        channel = frame[offsets[0]:offsets[1]].decode("ascii")
    except UnicodeDecodeError as e:
        raise BadFrame("channel is not text") from e
    return _allowed(channel, _header(frame[offsets[1]:offsets[2]]))


def check_legacy(frame: bytes | str) -> tuple[str, str]:
    """Channel and message type of a legacy-protocol frame: JSON text, or binary with a
    4-byte big-endian buffer count and offsets."""
    check_size(frame)
    if isinstance(frame, str):
        try:
            msg = json.loads(frame)
        except ValueError as e:
            raise BadFrame("message is not JSON") from e
    else:
        if len(frame) < 4:
            raise BadFrame("frame shorter than its buffer count")
        n = struct.unpack("!i", frame[:4])[0]
        if not 1 <= n <= 1 + MAX_BUFFERS:
            raise BadFrame(f"{n} buffers in a frame of {len(frame)} bytes")
        offsets = _offsets(frame, "!", 4, n, 4 * (n + 1))
        end = offsets[1] if n > 1 else len(frame)
        try:
            msg = json.loads(frame[offsets[0]:end].decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise BadFrame("message is not JSON") from e
    if not isinstance(msg, dict):
        raise BadFrame("message is not an object")
    header = msg.get("header")
    if not isinstance(header, dict) or not isinstance(header.get("msg_type"), str):
        raise BadFrame("header has no message type")
    if not isinstance(msg.get("parent_header", {}), dict):
        raise BadFrame("parent header is not an object")
    return _allowed(msg.get("channel", "shell"), header)


def check(frame: bytes | str, subprotocol: str | None) -> tuple[str, str]:
    """Check a frame in the protocol the socket agreed on."""
    return check_v1(frame) if subprotocol == V1 else check_legacy(frame)
