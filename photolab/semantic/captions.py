"""Captions from a local multimodal GGUF through llama-cpp-python (Moondream 2 by default).

Two files make a model: the text model GGUF and its vision projector (`mmproj`) GGUF. Both are
read from paths in the settings; nothing is downloaded. The chat handler decides the prompt
format: "moondream" (Moondream 2), "llava" (LLaVA 1.5) or "mtmd" (the chat template inside the
GGUF, for newer models llama.cpp supports: Qwen2-VL, Gemma 3, SmolVLM, ...).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from PIL import Image

from ..errors import ModelNotFoundError, PhotolabError
from ..media.thumbnails import thumb_path

HANDLERS = ("moondream", "llava", "mtmd")
CAPTION_SCHEMA = {"photo_id": pl.Int64, "model": pl.String, "caption": pl.String,
                  "error": pl.String}
HOW_TO_GET = (
    "Moondream 2 in GGUF: on a machine with internet run `hf download vikhyatk/moondream2 "
    "moondream2-text-model-f16.gguf moondream2-mmproj-f16.gguf`, copy both files here and set "
    "caption_model = \"/path/moondream2-text-model-f16.gguf\" and caption_mmproj = "
    "\"/path/moondream2-mmproj-f16.gguf\" in the library's photolab.toml")


@dataclass(frozen=True)
class CaptionParams:
    """Which captioning model and how to ask it.

    Parameters
    ----------
    model : path of the text model GGUF ("" : captions off).
    mmproj : path of its vision projector GGUF.
    handler : prompt format, one of `HANDLERS`.
    prompt : what the model is asked about each photo.
    max_tokens : longest caption, in tokens.
    n_ctx : context length (image tokens + prompt + caption).
    threads : CPU threads (0: one per core).
    """

    model: str = ""
    mmproj: str = ""
    handler: str = "moondream"
    prompt: str = "Describe this photo in one sentence."
    max_tokens: int = 48
    n_ctx: int = 2048
    threads: int = 0

    def fingerprint(self) -> str:
        """What identifies the captions this model and prompt make."""
        what = f"{self.handler}|{self.prompt}|{self.max_tokens}"
        digest = hashlib.blake2b(what.encode(), digest_size=4).hexdigest()
        return f"{Path(self.model).name}+{Path(self.mmproj).name}:{digest}"

    def check(self) -> None:
        """Raise a clear error when captions are off or a model file is missing."""
        if not self.model:
            raise PhotolabError("captions are off (set caption_model and caption_mmproj in "
                                "photolab.toml, see the README's Captions section)")
        if self.handler not in HANDLERS:
            raise PhotolabError(f"caption_handler {self.handler!r}: one of {HANDLERS}")
        for key, value in (("caption_model", self.model), ("caption_mmproj", self.mmproj)):
            if not value or not Path(value).expanduser().is_file():
                raise ModelNotFoundError(f"{key} {value!r} is not a file. {HOW_TO_GET}")


class Captioner:
    """A loaded GGUF vision-language model: `caption(image)` returns one caption."""

    def __init__(self, params: CaptionParams):
        params.check()
        try:
            from llama_cpp import Llama
            from llama_cpp import llama_chat_format as formats
        except ImportError as e:
            raise PhotolabError("captions need the captions extra: pip install "
                                "'photolab[captions]' (llama-cpp-python compiles on install)"
                                ) from e
        from llama_cpp import _logger, mtmd_cpp

        # mtmd logs every image it encodes to stderr; send it where llama.cpp's logs go (the
        # "llama-cpp-python" Python logger, quiet unless asked)
        mtmd_cpp.mtmd_log_set(_logger.llama_log_callback, None)
        mtmd_cpp.mtmd_helper_log_set(_logger.llama_log_callback, None)
        handler_class = {"moondream": formats.MoondreamChatHandler,
                         "llava": formats.Llava15ChatHandler,
                         "mtmd": formats.MTMDChatHandler}[params.handler]
        self.params = params
        self.fingerprint = params.fingerprint()
        mmproj = str(Path(params.mmproj).expanduser())
        self.handler = handler_class(clip_model_path=mmproj, verbose=False)
        self.llm = Llama(model_path=str(Path(params.model).expanduser()),
                         chat_handler=self.handler, n_ctx=params.n_ctx,
                         n_threads=params.threads or os.cpu_count() or 1, verbose=False,
                         seed=0)

    def caption(self, image: Image.Image) -> str:
        """One caption for one image (greedy decoding: the same image gives the same text)."""
        buf = io.BytesIO()
        image.convert("RGB").save(buf, "JPEG", quality=90)  # llama.cpp reads JPEG, not WebP
        url = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()
        out = self.llm.create_chat_completion(
            messages=[{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": url}},
                {"type": "text", "text": self.params.prompt}]}],
            max_tokens=self.params.max_tokens, temperature=0.0, top_k=1)
        self.llm.reset()
        return clean_caption(str(out["choices"][0]["message"]["content"] or ""))


def clean_caption(text: str) -> str:
    """Drop control characters and squeeze white space (a model may emit stray bytes)."""
    kept = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    return " ".join(kept.split())


def caption_photos(frame: pl.DataFrame, thumbs_dir: Path, size: str, captioner: Any,
                   tick: Callable[[int], None]) -> pl.DataFrame:
    """Caption each photo's `size` thumbnail. Returns `photo_id`, `model`, `caption`, `error`."""
    rows = []
    for photo_id, content_hash in frame.select("photo_id", "content_hash").iter_rows():
        caption, error = None, None
        try:
            with Image.open(thumb_path(thumbs_dir, content_hash, size)) as im:
                caption = captioner.caption(im)
        except FileNotFoundError:
            pass  # the thumbnails stage failed on it and says why (counted there, once)
        except (OSError, ValueError, RuntimeError) as e:
            error = f"captioning failed: {e}"
        rows.append((photo_id, captioner.fingerprint, caption, error))
        tick(1)
    return pl.DataFrame(rows, schema=CAPTION_SCHEMA, orient="row")
