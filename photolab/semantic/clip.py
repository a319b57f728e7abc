"""CLIP image and text embeddings with open_clip, loaded from local files only.

The weights come from a file, from a folder (open_clip's ``local-dir:`` form), or from the
local Hugging Face / open_clip cache where ``open_clip`` itself would have put them. photolab
never downloads: with no weights present, `ModelNotFoundError` says which file to put where.

torch 2.13.0 is the CPU build; every torchvision wheel on the package index is a CUDA build,
whose compiled ops cannot load beside it. open_clip only needs torchvision's pure-Python
transforms, so `import_open_clip` imports torchvision without its op registrations (see
docs/decisions.md). With a matching torch/torchvision pair nothing is skipped.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelNotFoundError, PhotolabError

#: the files open_clip looks for on the Hugging Face hub, best first
HF_WEIGHT_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


@dataclass(frozen=True)
class ClipParams:
    """Which CLIP model to use and how.

    Parameters
    ----------
    model : an open_clip model name ("ViT-B-32"), ``"local-dir:/folder"`` (a folder with
        ``open_clip_config.json`` and weights) or ``"hf-hub:org/repo"`` (from the local cache).
    pretrained : an open_clip pretrained tag ("laion2b_s34b_b79k") or a weights file path;
        ignored for ``local-dir:``.
    cache_dir : where to look for cached weights ("" : the Hugging Face cache, $HF_HOME).
    batch : images per forward pass.
    threads : torch threads (0: one per core).
    """

    model: str = "ViT-B-32"
    pretrained: str = "laion2b_s34b_b79k"
    cache_dir: str = ""
    batch: int = 32
    threads: int = 0

    def fingerprint(self) -> str:
        """What identifies the embeddings this model makes (stored with each vector)."""
        if self.model.startswith("local-dir:"):
            return self.model
        return f"{self.model}/{self.pretrained}"


def import_open_clip() -> Any:
    """Import open_clip; where torchvision's compiled ops cannot load, import it without them."""
    try:
        import torchvision
    except ImportError as e:
        raise PhotolabError("CLIP needs the semantic extra: pip install 'photolab[semantic]'"
                            ) from e
    except RuntimeError as e:
        if "torchvision::" not in str(e):
            raise
        # The CUDA torchvision wheel beside the CPU torch: its C++ ops did not load, and the
        # import fails registering fake kernels for them. Skip that module only: transforms
        # are pure Python; the ops (nms, roi_align) raise a clear error if anyone calls them.
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        sys.modules["torchvision._meta_registrations"] = types.ModuleType(
            "torchvision._meta_registrations")
        import torchvision  # noqa: F401
    import open_clip

    return open_clip


def _cached_hf_file(repo: str, filename: str | None, cache_dir: str | None) -> str | None:
    from huggingface_hub import try_to_load_from_cache

    for name in (filename,) if filename else HF_WEIGHT_FILES:
        path = try_to_load_from_cache(repo, name, cache_dir=cache_dir)
        if isinstance(path, str):
            return path
    return None


def resolve_weights(params: ClipParams) -> str | None:
    """The local weights file for `params` (None for ``local-dir:``, which open_clip reads).

    Raises `ModelNotFoundError` naming the file to fetch and where to put it.
    """
    open_clip = import_open_clip()
    if params.model.startswith("local-dir:"):
        folder = Path(params.model.removeprefix("local-dir:")).expanduser()
        if not (folder / "open_clip_config.json").is_file():
            raise ModelNotFoundError(
                f"{folder} has no open_clip_config.json: a local-dir: CLIP model is a folder "
                "with open_clip_config.json and open_clip_model.safetensors")
        return None
    cache = params.cache_dir or None
    if params.model.startswith("hf-hub:"):
        repo = params.model.removeprefix("hf-hub:")
        found = _cached_hf_file(repo, None, cache)
        if found:
            return found
        raise ModelNotFoundError(_missing(repo, HF_WEIGHT_FILES[0], params))
    if params.pretrained and os.path.isfile(os.path.expanduser(params.pretrained)):
        return os.path.expanduser(params.pretrained)
    if params.model not in open_clip.list_models():
        raise PhotolabError(f"unknown open_clip model {params.model!r}; see "
                            "open_clip.list_models() or use 'local-dir:/folder'")
    cfg = open_clip.get_pretrained_cfg(params.model, params.pretrained)
    if not cfg:
        raise ModelNotFoundError(
            f"{params.pretrained!r} is neither a weights file nor a pretrained tag of "
            f"{params.model}; tags: {open_clip.list_pretrained_tags_by_model(params.model)}")
    if cfg.get("hf_hub"):
        repo, filename = os.path.split(cfg["hf_hub"])  # "org/repo/" or "org/repo/file"
        found = _cached_hf_file(repo, filename or None, cache)
        if found:
            return found
        raise ModelNotFoundError(_missing(repo, filename or HF_WEIGHT_FILES[0], params))
    url = cfg.get("url", "")
    target = Path(cache or Path.home() / ".cache" / "clip") / os.path.basename(url)
    if target.is_file():
        return str(target)
    raise ModelNotFoundError(
        f"CLIP weights for {params.model} / {params.pretrained} are not on this machine: "
        f"put {url} at {target}, or set clip_pretrained to the file's path in photolab.toml")


def _missing(repo: str, filename: str, params: ClipParams) -> str:
    from huggingface_hub import constants

    cache = params.cache_dir or constants.HF_HUB_CACHE
    return (f"CLIP weights for {params.model} / {params.pretrained} are not on this machine "
            f"(photolab does not download). On a machine with internet run "
            f"`hf download {repo} {filename}` and copy its cache folder "
            f"models--{repo.replace('/', '--')} into {cache}; or download "
            f"https://huggingface.co/{repo}/resolve/main/{filename} and set "
            f"clip_pretrained = \"/path/to/{filename}\" in the library's photolab.toml; or set "
            f"clip_model = \"local-dir:/folder\" for a folder holding open_clip_config.json "
            f"and the weights")


class ClipModel:
    """A loaded open_clip model: `encode_images` and `encode_texts` give unit vectors."""

    def __init__(self, params: ClipParams = ClipParams()):
        open_clip = import_open_clip()
        import torch

        weights = resolve_weights(params)
        torch.set_num_threads(params.threads or os.cpu_count() or 1)
        self.params = params
        self.fingerprint = params.fingerprint()
        self.model, _, self.preprocess = open_clip.create_model_and_transforms(
            params.model, pretrained=weights, cache_dir=params.cache_dir or None,
            load_weights=True)
        self.model.eval()
        self.tokenizer = open_clip.get_tokenizer(params.model)
        self.dim = int(self.encode_texts(["a photo"]).shape[1])

    def __repr__(self) -> str:
        return f"ClipModel({self.fingerprint!r}, dim={self.dim})"

    def encode_images(self, images: Sequence[Any]) -> np.ndarray:
        """PIL images -> float32 array (n, dim) of unit vectors."""
        import torch

        out = []
        for start in range(0, len(images), self.params.batch):
            chunk = images[start:start + self.params.batch]
            x = torch.stack([self.preprocess(im) for im in chunk])
            with torch.inference_mode():
                out.append(self.model.encode_image(x, normalize=True).float().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Strings -> float32 array (n, dim) of unit vectors."""
        import torch

        with torch.inference_mode():
            tokens = self.tokenizer(list(texts))
            return self.model.encode_text(tokens, normalize=True).float().numpy()
