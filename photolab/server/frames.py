"""Check kernel-websocket frames from a browser before anything parses them for real.

jupyter_server's v1 deserializer trusts the frame's leading offset count (an 8-byte frame can
ask it to loop four billion times). `check_v1` reads the same layout with every count and
offset bounded by the frame itself, and returns the channel and message type, or raises
`BadFrame`; `check` refuses the legacy protocol. Pure functions: no server needed to test
them.
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


def _header(raw: bytes) -> dict:
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as e:
        raise BadFrame("header is not JSON") from e
    if not isinstance(header, dict) or not isinstance(header.get("msg_type"), str):
        raise BadFrame("header has no message type")
    return header


def check_v1(frame: bytes | str) -> tuple[str, str]:
    """Channel and message type of a v1-protocol frame (8-byte little-endian offsets).

    >>> check_v1(bytes.fromhex("0000000001000000"))
    Traceback (most recent call last):
    ...
    photolab.server.frames.BadFrame: 4294967296 offsets in a frame of 8 bytes
    """
    if not isinstance(frame, bytes):
        raise BadFrame("v1 frames are binary")
    if len(frame) > MAX_FRAME_BYTES:
        raise BadFrame(f"frame of {len(frame)} bytes is larger than pages send")
    if len(frame) < 8:
        raise BadFrame("frame shorter than its offset count")
    n = int.from_bytes(frame[:8], "little")
    # channel, header, parent header, metadata, content, then at most MAX_BUFFERS buffers
    if not 6 <= n <= 6 + MAX_BUFFERS or 8 * (n + 1) > len(frame):
        raise BadFrame(f"{n} offsets in a frame of {len(frame)} bytes")
    offsets = struct.unpack(f"<{n}Q", frame[8:8 * (n + 1)])
    if offsets[0] != 8 * (n + 1) or any(b < a for a, b in pairwise(offsets)):
        raise BadFrame("offsets out of order")
    if offsets[-1] != len(frame):
        raise BadFrame("offsets do not end where the frame does")
    try:
        channel = frame[offsets[0]:offsets[1]].decode("ascii")
    except UnicodeDecodeError as e:
        raise BadFrame("channel is not text") from e
    if channel not in ALLOWED_CHANNELS:
        raise BadFrame(f"channel {channel[:20]!r} is not for pages")
    kind = _header(frame[offsets[1]:offsets[2]])["msg_type"]
    if kind not in ALLOWED_TYPES:
        raise BadFrame(f"message type {kind[:40]!r} is not for pages")
    return channel, kind


def check(frame: bytes | str, subprotocol: str | None) -> tuple[str, str]:
    """Check a frame in the protocol the socket agreed on: v1 only.

    Pages speak v1. The legacy protocol is refused whole: its binary replies (widget state
    with image buffers) are misread by Voilà's header reader, which then loops on a count
    it takes from the wrong bytes, and no browser needs it.
    """
    if subprotocol != V1:
        raise BadFrame("this server speaks the v1 kernel websocket protocol only")
    return check_v1(frame)
