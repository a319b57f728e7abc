"""Semantic stage, FAISS index, search, similar, scene tags, CLIP duplicates: on the corpus,
with a tiny open_clip model the tests build and load through the real loading path."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from PIL import Image

from photolab import Library
from photolab.errors import ModelNotFoundError, PhotolabError
from photolab.semantic.clip import ClipModel, ClipParams, resolve_weights
from photolab.semantic.index import VectorIndex, choose_kind

from .conftest import CORPUS, PHOTOLAB, copy_files, env
from .tiny_clip import save_tiny_clip

OBAMA = ["dupes/fr_obama-240p.jpg", "dupes/fr_obama-480p.jpg", "dupes/fr_obama-720p.jpg",
         "dupes/fr_obama-1080p.jpg"]


def _id(lib: Library, rel: str) -> int:
    return int(lib.photos().filter(pl.col("path") == str(CORPUS / rel))["photo_id"][0])


def test_missing_weights_say_where_to_put_them(tmp_path: Path) -> None:
    params = ClipParams(cache_dir=str(tmp_path / "empty-cache"))
    with pytest.raises(ModelNotFoundError) as e:
        resolve_weights(params)
    msg = str(e.value)
    assert "hf download laion/CLIP-ViT-B-32-laion2B-s34B-b79K" in msg
    assert str(tmp_path / "empty-cache") in msg and "clip_pretrained" in msg
    with pytest.raises(ModelNotFoundError, match=r"open_clip_config\.json"):
        resolve_weights(ClipParams(model=f"local-dir:{tmp_path}"))
    with pytest.raises(ModelNotFoundError, match="pretrained tag"):
        resolve_weights(ClipParams(pretrained="no-such-tag"))


def test_ingest_without_weights_skips_semantic_and_keeps_the_rest(tmp_path: Path) -> None:
    photos = copy_files(tmp_path / "in", OBAMA[:2])
    with Library(tmp_path / "lib") as lib:
        lib.settings.clip_cache_dir = str(tmp_path / "empty-cache")
        lib.settings.save(lib.root)
        report = lib.ingest([photos[0].parent], skip=["faces", "people"],
                            show_progress=False)
        assert "hf download" in report.skipped["semantic"]
        assert "semantic" in report.skipped["tags"]
        assert report.counts["hashes_done"] == 2 and "skipped: CLIP weights" in str(report)
        assert lib.embeddings().height == 0
        with pytest.raises(ModelNotFoundError):
            lib.search("a face")


def test_tiny_model_loads_its_saved_weights(tmp_path: Path) -> None:
    """Two folders of different seeds give different vectors; one folder loaded twice gives
    the same ones: the weights come from the file, not from a fresh random init."""
    a = save_tiny_clip(tmp_path / "a", seed=1)
    b = save_tiny_clip(tmp_path / "b", seed=2)
    img = Image.open(CORPUS / OBAMA[0]).convert("RGB")
    va1 = ClipModel(ClipParams(model=f"local-dir:{a}")).encode_images([img])
    va2 = ClipModel(ClipParams(model=f"local-dir:{a}")).encode_images([img])
    vb = ClipModel(ClipParams(model=f"local-dir:{b}")).encode_images([img])
    np.testing.assert_array_equal(va1, va2)
    assert np.abs(va1 - vb).max() > 1e-3
    assert va1.dtype == np.float32 and abs(np.linalg.norm(va1) - 1) < 1e-5
    t = ClipModel(ClipParams(model=f"local-dir:{a}")).encode_texts(["a dog", "a cat"])
    assert t.shape == (2, 32) and np.allclose(np.linalg.norm(t, axis=1), 1, atol=1e-5)


def test_every_photo_with_a_thumbnail_has_a_unit_vector(corpus_lib: Library) -> None:
    """Damaged files whose thumbnail shows what decodes are embedded too; a file with no
    thumbnail at all has no vector, and its failure is told once, by the thumbnails stage."""
    photos = corpus_lib.photos().with_columns(pl.col("error").fill_null(""))
    emb = corpus_lib.embeddings()
    no_thumb = ~pl.col("error").str.contains("thumbnails: damaged image data, thumbnail shows")
    failed = photos.filter(pl.col("error").str.contains("thumbnails: ") & no_thumb)
    assert failed.height >= 4 and not failed["error"].str.contains("semantic: ").any()
    assert set(emb["photo_id"]) == set(photos["photo_id"]) - set(failed["photo_id"])
    partial = photos.filter(pl.col("error").str.contains("thumbnail shows what decodes"))
    assert partial.height and set(partial["photo_id"]) <= set(emb["photo_id"])
    norms = np.linalg.norm(emb["vector"].to_numpy(), axis=1)
    assert np.allclose(norms, 1, atol=1e-5)


def test_similar_ranks_the_same_frame_at_other_sizes_first(corpus_lib: Library) -> None:
    hits = corpus_lib.similar(_id(corpus_lib, OBAMA[2]), k=5)
    assert set(hits["path"].head(3)) == {str(CORPUS / r) for r in OBAMA if "720" not in r}
    assert hits["rank"].to_list() == [1, 2, 3, 4, 5]
    assert hits["score"].is_sorted(descending=True)
    assert _id(corpus_lib, OBAMA[2]) not in hits["photo_id"]


def test_index_survives_restart_and_follows_the_catalog(lib_copy: Library,
                                                        tmp_path: Path) -> None:
    lib = lib_copy
    before = lib.search("a person's face", k=10)
    index_file = lib.root / "index" / "clip.faiss"
    n = lib.embeddings().height
    assert index_file.exists() and len(lib.vector_index()) == n
    root = lib.root
    lib.close()
    lib = Library(root)

    def from_disk() -> tuple[VectorIndex, dict[str, int]]:
        """The saved index, synced with a fetch that fails: nothing may need fetching."""
        idx = VectorIndex(root / "index")
        ids = lib.catalog.frame("SELECT embedding_id FROM embeddings")["embedding_id"]
        return idx, idx.sync(np.sort(ids.to_numpy()), lambda ids: 1 / 0,
                             lib.clip_fingerprint(), 32)

    idx, stats = from_disk()
    assert stats == {"added": 0, "removed": 0, "rebuilt": 0} and len(idx) == n
    assert lib.search("a person's face", k=10).equals(before)
    # an incremental add: two new photos, two new vectors in the saved index
    new = copy_files(tmp_path / "more", ["exif/ianare_gps_DSCN0010.jpg"])[0]
    shutil.copy(new, tmp_path / "more" / "copy-with-new-name.jpg")
    lib.ingest([tmp_path / "more"], skip=["faces", "people"], show_progress=False)
    assert len(lib.vector_index()) == n + 2
    idx, stats = from_disk()
    assert stats["rebuilt"] == 0 and len(idx) == n + 2
    # a photo that goes away leaves the index
    (tmp_path / "more" / "copy-with-new-name.jpg").unlink()
    lib.ingest([tmp_path / "more"], skip=["faces", "people"], show_progress=False)
    assert len(lib.vector_index()) == n + 1
    # a missing index is rebuilt from the catalog, with the same answers
    lib.close()
    index_file.unlink()
    lib = Library(root)
    assert lib.search("a person's face", k=10).filter(
        pl.col("photo_id").is_in(before["photo_id"].to_list())).height >= 9
    assert index_file.exists()
    lib.close()


def test_hnsw_finds_what_flat_finds(lib_copy: Library) -> None:
    assert choose_kind(49_999) == "flat" and choose_kind(50_000) == "hnsw"
    queries = ["a person's face", "text on a page", "a beach", "a red car"]
    flat = [lib_copy.search(q, k=10)["photo_id"].to_list() for q in queries]
    lib_copy.settings.clip_index = "hnsw"
    hnsw = [lib_copy.search(q, k=10)["photo_id"].to_list() for q in queries]
    assert lib_copy.vector_index().meta["kind"] == "hnsw"
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(flat, hnsw, strict=True)])
    assert recall >= 0.9


def test_filters_compose(lib_copy: Library) -> None:
    lib = lib_copy
    photos = lib.photos()
    everything = lib.search("a photo", k=1000)
    assert everything.height == lib.embeddings().height
    canon = lib.search("a photo", k=1000, camera="canon")
    assert canon.height > 0 and canon.join(photos, on="photo_id")["camera_make"].str.to_lowercase(
    ).str.contains("canon").all()
    dated = lib.search("a photo", k=1000, after="2015-01-01", before="2015-12-31")
    years = dated.join(photos, on="photo_id")["taken_at"].dt.year().unique().to_list()
    assert years == [2015]
    both = lib.search("a photo", k=1000, camera="canon", after="2015-01-01", before="2015-12-31")
    assert set(both["photo_id"]) == set(canon["photo_id"]) & set(dated["photo_id"])
    # a person, once named
    faces = lib.faces(encodings=False).filter(pl.col("photo_id").is_not_null()).head(2)
    lib.name_faces(faces["face_id"].to_list(), "Ada")
    ada = lib.search("a photo", k=1000, person="ada")  # the faces named, and their clusters'
    named = lib.faces(encodings=False).filter(pl.col("person_name") == "Ada")
    assert set(faces["photo_id"]) <= set(ada["photo_id"]) == set(named["photo_id"])
    # a place, and a scene tag
    city = lib.places().drop_nulls("city")["city"][0]
    there = lib.search("a photo", k=1000, place=city.upper())
    assert set(there["photo_id"]) == set(lib.places().filter(pl.col("city") == city)["photo_id"])
    tagged = lib.search("a photo", k=1000, tag="outdoor")
    assert set(tagged["photo_id"]) == set(
        lib.scene_tags().filter(pl.col("tag") == "outdoor")["photo_id"])
    assert lib.search("a photo", k=3)["rank"].to_list() == [1, 2, 3]


def test_filtered_search_through_the_index_matches_exact(lib_copy: Library,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Above EXACT_MAX a filter goes to FAISS as an id selector: same answers as numpy."""
    import photolab.semantic.queries as sv

    exact = lib_copy.search("a beach", k=20, after="2010-01-01")
    monkeypatch.setattr(sv, "EXACT_MAX", 0)
    faiss = lib_copy.search("a beach", k=20, after="2010-01-01")
    np.testing.assert_allclose(faiss["score"], exact["score"], atol=1e-5)
    last = exact["score"][-1] + 1e-5  # identical copies tie: compare above the last score
    assert set(faiss.filter(pl.col("score") > last)["photo_id"]) == set(
        exact.filter(pl.col("score") > last)["photo_id"])
    assert faiss.join(lib_copy.photos(), on="photo_id")["taken_at"].min().year >= 2010


def test_scene_tags_have_a_setting_and_follow_the_label_list(lib_copy: Library,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    tags = lib_copy.scene_tags()
    setting = tags.filter(pl.col("tag").is_in(["indoor", "outdoor"]))
    assert setting["photo_id"].n_unique() == lib_copy.embeddings().height
    assert setting.group_by("photo_id").agg(pl.col("score").max())["score"].min() >= 0.5
    assert tags["score"].max() <= 1 and tags["score"].min() >= lib_copy.settings.tag_min_score
    import photolab.semantic.verbs as sv

    labels = {"kind": {"a dog": ["a photo of a dog"], "a boat": ["a photo of a boat"]}}
    monkeypatch.setattr(sv, "SCENE_LABELS", labels)
    report = lib_copy.ingest(only=["tags"], show_progress=False)
    assert report.counts["tags_done"] == lib_copy.photos().height
    # photos with no thumbnail have no vector; their failure is the thumbnail stage's, told once
    assert lib_copy.photos().height > lib_copy.embeddings().height and report.errors["tags"] == 0
    assert set(lib_copy.scene_tags()["tag"]) <= {"a dog", "a boat"}


def test_clip_pairs_join_duplicate_groups(lib_copy: Library) -> None:
    pairs = lib_copy.embedding_pairs(0.001)
    assert pairs.height and (pairs["photo_id_a"] < pairs["photo_id_b"]).all()
    assert (pairs["distance"] <= 0.001).all()
    plain = lib_copy.duplicates(threshold=0)
    joined = lib_copy.duplicates(threshold=0, clip_distance=0.001)
    grouped = set(joined["photo_id"])
    assert set(plain["photo_id"]) <= grouped
    assert all(a in grouped and b in grouped for a, b in pairs.select(
        "photo_id_a", "photo_id_b").iter_rows())


def test_search_cli(corpus_lib: Library) -> None:
    out = subprocess.run([*PHOTOLAB, "search", "--library", str(corpus_lib.root), "a face",
                          "-k", "3", "-f", "csv"], capture_output=True, text=True, env=env(),
                         check=True).stdout
    rows = pl.read_csv(out.encode())
    assert rows.columns == ["photo_id", "score", "rank", "path", "taken_at", "caption"]
    assert rows.height == 3
    pid = _id(corpus_lib, OBAMA[0])
    out = subprocess.run([*PHOTOLAB, "search", "-l", str(corpus_lib.root), "--similar",
                          str(pid), "-k", "3", "-f", "csv"], capture_output=True, text=True,
                         env=env(), check=True).stdout
    assert set(pl.read_csv(out.encode())["path"]) == {str(CORPUS / r) for r in OBAMA[1:]}
    bad = subprocess.run([*PHOTOLAB, "search", "-l", str(corpus_lib.root)],
                         capture_output=True, text=True, env=env())
    assert bad.returncode == 2 and "either words" in bad.stderr


def test_search_needs_words_and_similar_needs_a_vector(corpus_lib: Library) -> None:
    with pytest.raises(PhotolabError, match="words"):
        corpus_lib.search("  ")
    with pytest.raises(PhotolabError, match="no photo"):
        corpus_lib.similar(10**9)


def _real_weights() -> ClipParams | None:
    try:
        resolve_weights(ClipParams())
    except (ModelNotFoundError, PhotolabError):
        return None
    return ClipParams()


@pytest.mark.skipif(_real_weights() is None,
                    reason="ViT-B-32 laion2b_s34b_b79k weights are not on this machine (no "
                    "model hub can be reached here; see the README's Search section)")
def test_words_find_the_right_corpus_photos_with_real_weights(tmp_path: Path) -> None:
    """With real CLIP weights: faces rank above landscapes for "a person's face", and the
    photos of text come first for "text on a page"."""
    lib = Library(tmp_path / "lib")
    lib.ingest([CORPUS / "faces", CORPUS / "misc", CORPUS / "dupes"],
               skip=["faces", "people", "captions"], show_progress=False)
    hits = lib.search("a person's face", k=lib.embeddings().height)
    rank = dict(zip(hits["path"], hits["rank"], strict=True))
    faces = [r for p, r in rank.items() if "/faces/" in p]
    land = [r for p, r in rank.items() if "landscape" in p]
    assert np.median(faces) < np.median(land)
    text = lib.search("text on a page", k=5)["path"].to_list()
    assert any("immich_text_" in p for p in text[:3])
    lib.close()
