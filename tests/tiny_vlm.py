"""A tiny multimodal GGUF pair the tests build: a 2-layer llama text model with a byte-level
SentencePiece vocabulary, and a LLaVA-style CLIP vision projector (`mmproj`) for it.

The weights are random, so the captions are noise (words of a tiny vocabulary); what the
tests check is that llama.cpp
(through llama-cpp-python) loads both files and generates from an image, the path a real
Moondream 2 GGUF takes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

N_EMBD, N_HEAD, N_FF, N_LAYER = 64, 4, 128, 2
V_EMBD, V_HEAD, V_FF, V_LAYER, IMAGE, PATCH = 32, 2, 64, 2, 32, 8


def _vocab() -> tuple[list[bytes], list[float], list[int]]:
    """<unk>, <s>, </s>, the 256 byte tokens, then a few words (SentencePiece types)."""
    tokens = [b"<unk>", b"<s>", b"</s>"] + [f"<0x{i:02X}>".encode() for i in range(256)]
    types = [2, 3, 3] + [6] * 256
    words = ["\u2581a", "\u2581photo", "\u2581of", "\u2581the", "\u2581dog", "\u2581beach",
             "\u2581person", "\u2581Question", ":", "\u2581Answer"]
    tokens += [w.encode() for w in words]
    types += [1] * len(words)
    scores = [0.0] * 259 + [-float(i) for i in range(len(words))]
    return tokens, scores, types


def save_text_model(path: Path, seed: int = 0) -> Path:
    import gguf

    rng = np.random.default_rng(seed)
    tokens, scores, types = _vocab()

    def r(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.2).astype(np.float32)

    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("photolab tiny test llama")
    w.add_context_length(512)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD)
    w.add_rope_dimension_count(N_EMBD // N_HEAD)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_chat_template("{% for m in messages %}{{ m.content if m.content is string else "
                        "m.content | map(attribute='text') | join('') }}\n{% endfor %}"
                        "{% if add_generation_prompt %}Answer:{% endif %}")
    v = len(tokens)
    w.add_tensor("token_embd.weight", r(v, N_EMBD))
    for i in range(N_LAYER):
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(N_EMBD, np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            w.add_tensor(f"blk.{i}.{name}.weight", r(N_EMBD, N_EMBD))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(N_EMBD, np.float32))
        w.add_tensor(f"blk.{i}.ffn_gate.weight", r(N_FF, N_EMBD))
        w.add_tensor(f"blk.{i}.ffn_up.weight", r(N_FF, N_EMBD))
        w.add_tensor(f"blk.{i}.ffn_down.weight", r(N_EMBD, N_FF))
    w.add_tensor("output_norm.weight", np.ones(N_EMBD, np.float32))
    out = r(v, N_EMBD)
    out[:259] = 0  # control and byte tokens never win: the noise comes out as words
    w.add_tensor("output.weight", out)
    _write(w)
    return path


def save_projector(path: Path, seed: int = 1) -> Path:
    import gguf

    rng = np.random.default_rng(seed)

    def r(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.2).astype(np.float32)

    w = gguf.GGUFWriter(str(path), "clip")
    w.add_bool("clip.has_vision_encoder", True)
    w.add_string("clip.projector_type", "mlp")
    w.add_uint32("clip.vision.image_size", IMAGE)
    w.add_uint32("clip.vision.patch_size", PATCH)
    w.add_uint32("clip.vision.embedding_length", V_EMBD)
    w.add_uint32("clip.vision.feed_forward_length", V_FF)
    w.add_uint32("clip.vision.projection_dim", N_EMBD)
    w.add_uint32("clip.vision.attention.head_count", V_HEAD)
    w.add_float32("clip.vision.attention.layer_norm_epsilon", 1e-5)
    w.add_uint32("clip.vision.block_count", V_LAYER)
    w.add_array("clip.vision.image_mean", [0.48145466, 0.4578275, 0.40821073])
    w.add_array("clip.vision.image_std", [0.26862954, 0.26130258, 0.27577711])
    w.add_bool("clip.use_gelu", True)
    w.add_uint32("general.file_type", 0)
    n_pos = (IMAGE // PATCH) ** 2 + 1
    w.add_tensor("v.patch_embd.weight", r(V_EMBD, 3, PATCH, PATCH))
    w.add_tensor("v.class_embd", r(V_EMBD))
    w.add_tensor("v.position_embd.weight", r(n_pos, V_EMBD))
    w.add_tensor("v.pre_ln.weight", np.ones(V_EMBD, np.float32))
    w.add_tensor("v.pre_ln.bias", np.zeros(V_EMBD, np.float32))
    for i in range(V_LAYER):
        p = f"v.blk.{i}"
        for name in ("attn_q", "attn_k", "attn_v", "attn_out"):
            w.add_tensor(f"{p}.{name}.weight", r(V_EMBD, V_EMBD))
            w.add_tensor(f"{p}.{name}.bias", np.zeros(V_EMBD, np.float32))
        for ln in ("ln1", "ln2"):
            w.add_tensor(f"{p}.{ln}.weight", np.ones(V_EMBD, np.float32))
            w.add_tensor(f"{p}.{ln}.bias", np.zeros(V_EMBD, np.float32))
        w.add_tensor(f"{p}.ffn_up.weight", r(V_FF, V_EMBD))
        w.add_tensor(f"{p}.ffn_up.bias", np.zeros(V_FF, np.float32))
        w.add_tensor(f"{p}.ffn_down.weight", r(V_EMBD, V_FF))
        w.add_tensor(f"{p}.ffn_down.bias", np.zeros(V_EMBD, np.float32))
    w.add_tensor("mm.0.weight", r(N_EMBD, V_EMBD))
    w.add_tensor("mm.0.bias", np.zeros(N_EMBD, np.float32))
    w.add_tensor("mm.2.weight", r(N_EMBD, N_EMBD))
    w.add_tensor("mm.2.bias", np.zeros(N_EMBD, np.float32))
    _write(w)
    return path


def _write(w: object) -> None:
    w.write_header_to_file()  # type: ignore[attr-defined]
    w.write_kv_data_to_file()  # type: ignore[attr-defined]
    w.write_tensors_to_file()  # type: ignore[attr-defined]
    w.close()  # type: ignore[attr-defined]


def save_tiny_vlm(folder: Path) -> tuple[Path, Path]:
    """Write `tiny-text.gguf` and `tiny-mmproj.gguf` into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    return (save_text_model(folder / "tiny-text.gguf"),
            save_projector(folder / "tiny-mmproj.gguf"))
