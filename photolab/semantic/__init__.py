"""Semantic stages: CLIP embeddings, a FAISS index over them, zero-shot scene tags.

Nothing here imports torch until a model is loaded (`photolab.semantic.clip.ClipModel`).
"""
