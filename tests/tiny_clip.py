"""A tiny open_clip model the tests build and save, loaded back through the real path."""

from __future__ import annotations

import json
from pathlib import Path

#: a ViT and text transformer small enough to build in a second; CLIP's real tokenizer
TINY_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32,
                   "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2,
                 "layers": 2},
}


def save_tiny_clip(folder: Path, seed: int = 0) -> Path:
    """Write `open_clip_config.json` and `open_clip_model.safetensors` for a random tiny CLIP."""
    import torch
    from safetensors.torch import save_file

    from photolab.semantic.clip import import_open_clip

    open_clip = import_open_clip()
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = open_clip.CLIP(**TINY_CFG)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(folder / "open_clip_model.safetensors"))
    (folder / "open_clip_config.json").write_text(json.dumps({
        "model_cfg": TINY_CFG,
        "preprocess_cfg": {"mean": [0.48145466, 0.4578275, 0.40821073],
                           "std": [0.26862954, 0.26130258, 0.27577711]}}))
    return folder
