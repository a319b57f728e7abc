"""Duplicates on the corpus ground truth: hashes, groups, keepers, decisions, evaluation."""

from __future__ import annotations

import re
import shutil
import subprocess
from itertools import combinations
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from photolab import Library
from photolab.dedupe.evaluate import pairs_from_groups, score_pairs, sweep
from photolab.dedupe.hashing import jpeg_pixel_digest
from photolab.dedupe.search import hamming_pairs

from .conftest import CORPUS, PHOTOLAB, copy_files, corpus_file, env

#: stages duplicates do not read (their models cost more than the rest of a small ingest)
NO_MODELS = ["faces", "people", "semantic", "tags", "captions"]


def truth_groups(manifest: dict[str, dict[str, str]]) -> list[set[str]]:
    """Connected components of the manifest's dupe_group / duplicate_of labels."""
    parent: dict[str, str] = {}

    def find(a: str) -> str:
        parent.setdefault(a, a)
        while parent[a] != a:
            a = parent[a]
        return a

    for rel, row in manifest.items():
        links = [f"group:{g}" for g in re.findall(r"dupe_group=(\w+)", row["notes"])]
        links += re.findall(r"duplicate_of=(\S+?)[;\s]", row["notes"] + " ")
        for other in links:
            parent[find(rel)] = find(other)
    comps: dict[str, set[str]] = {}
    for node in list(parent):
        comps.setdefault(find(node), set()).add(node)
    return [{n for n in c if not n.startswith("group:")} for c in comps.values()]


@pytest.fixture(scope="module")
def truth(corpus_lib, corpus_photos, manifest):
    ids = dict(corpus_photos.select("rel", "photo_id").iter_rows())
    groups = [{ids[r] for r in g if r in ids} for g in truth_groups(manifest)]
    pairs = {tuple(sorted(p)) for g in groups for p in combinations(g, 2)}
    universe = {i for g in groups for i in g} | set(
        corpus_photos.filter(pl.col("rel").str.starts_with("dupes/"))["photo_id"])
    return pairs, universe


def restrict(pairs, universe):
    return {p for p in pairs if p[0] in universe and p[1] in universe}


def test_hamming_search_equals_brute_force() -> None:
    rng = np.random.default_rng(7)
    x = rng.integers(0, 2**63, size=2400, dtype=np.uint64)
    x[1200:1500] = x[:300] ^ np.uint64(0x0101_0000_0000_0011)   # 4 bits, two chunks
    x[1500:1800] = x[:300] ^ np.uint64(0x8000_8000_8001_0007)   # 6 bits over all chunks
    dist = np.bitwise_count(x[:, None] ^ x[None, :])
    for r in (0, 3, 4, 6, 8, 12):  # (under, at and over the planted distances)
        ii, jj = np.nonzero(np.triu(dist <= r, 1))
        for chunks in (None, 3, 4, 5, 8):  # the chosen layout, and each other
            i, j, d = hamming_pairs(x, r, chunks)
            assert list(zip(i.tolist(), j.tolist(), strict=True)) == list(
                zip(ii.tolist(), jj.tolist(), strict=True)), (r, chunks)
            assert (d == dist[i, j]).all()


def test_the_chunks_are_chosen_for_the_size_and_radius() -> None:
    """A million photos' two million hashes at radius 8: three chunks (a bucket holds about
    one hash) instead of four (about 30); a few thousand: narrow chunks (no 4M-bucket
    arrays for a small library)."""
    from photolab.dedupe.search import chunk_widths

    assert chunk_widths(2_000_000, 8) == [22, 21, 21]
    assert len(chunk_widths(4_000, 8)) > 4
    assert all(sum(chunk_widths(n, r)) == 64 for n in (10, 10**5, 10**7) for r in (0, 4, 10))


def test_corpus_groups_at_the_default_radius(corpus_lib, corpus_photos, truth) -> None:
    pairs, universe = truth
    groups = corpus_lib.duplicates()
    rel = dict(corpus_photos.select("photo_id", "rel").iter_rows())
    by_group = {gid: {rel[p] for p in g["photo_id"]} for (gid,), g in groups.group_by("group_id")}

    def together(*rels: str) -> bool:
        return any(set(rels) <= g for g in by_group.values())

    assert together("dupes/fr_obama-1080p.jpg", "dupes/fr_obama-720p.jpg",
                    "dupes/fr_obama-480p.jpg", "dupes/fr_obama-240p.jpg")          # resized
    assert together("dupes/ukb_ukbench00120.jpg", "dupes/ukb_ukbench00120_gray.jpg",
                    "dupes/ukb_ukbench00120_resize.jpg")                            # grey, small
    assert together("dupes/pillow_flower2.jpg", "dupes/pillow_flower2.webp")        # re-encoded
    assert together(*[f"dupes/ianare_landscape_{n}.jpg" for n in range(1, 9)])      # EXIF-rotated
    assert together(*[f"dupes/ianare_portrait_{n}.jpg" for n in range(1, 9)])
    assert together("dupes/ukb_ukbench00120.jpg", "dupes/ukb_ukbench00120_hflip.jpg")  # mirror
    assert together("dupes/df_img11_reflection.jpg", "faces/df_person01/img11.jpg")
    assert not together("dupes/ianare_canon_hdr_NO.jpg", "dupes/ianare_canon_hdr_YES.jpg")
    ukb_scenes = [r for r in rel.values() if re.fullmatch(r"dupes/ukb_ukbench0\d+\.jpg", r)]
    assert not any(together(a, b) for a, b in combinations(ukb_scenes, 2))  # distractors
    scores = score_pairs(restrict(pairs_from_groups(groups), universe), pairs)
    assert scores["precision"] >= 0.95 and scores["recall"] >= 0.9, scores


def test_byte_identical_copies_are_exact(corpus_photos, corpus_lib) -> None:
    groups = corpus_lib.duplicates()
    rel = dict(corpus_photos.select("photo_id", "rel").iter_rows())
    kinds = {rel[p]: k for p, k in groups.select("photo_id", "kind").iter_rows()}
    assert kinds["dupes/immich_el_torcal_rocks.jpeg"] == "exact"
    assert kinds["dupes/immich_el_torcal_rocks.jpg"] == "exact"
    assert kinds["dupes/ukb_ukbench09380_as.png"] == "exact"   # a JPEG named .png


def test_metadata_only_copy_is_exact_and_keeper_is_richest(tmp_path: Path) -> None:
    src = tmp_path / "p"
    orig = copy_files(src, ["exif/ianare_Canon_40D.jpg"])[0]
    stripped = src / "stripped.jpg"
    shutil.copy(orig, stripped)
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-all=", str(stripped)],
                   check=True)
    assert orig.read_bytes() != stripped.read_bytes()
    assert jpeg_pixel_digest(orig.read_bytes()) == jpeg_pixel_digest(stripped.read_bytes())
    with Library(tmp_path / "lib") as lib:
        lib.ingest([src], show_progress=False, skip=NO_MODELS)
        g = lib.duplicates(threshold=0)
    assert g["kind"].to_list() == ["exact", "exact"]
    keeper = g.filter("is_keeper")["path"][0]
    assert keeper == str(orig)  # same pixels: the copy with its metadata wins
    assert g.filter(~pl.col("is_keeper"))["reclaimable_bytes"][0] == stripped.stat().st_size


def test_decisions_survive_recompute_and_reingest(tmp_path: Path) -> None:
    src = tmp_path / "p"
    copy_files(src, ["dupes/fr_obama-1080p.jpg", "dupes/fr_obama-720p.jpg",
                     "dupes/fr_obama-480p.jpg", "dupes/pillow_flower2.jpg",
                     "dupes/pillow_flower2.webp"])
    with Library(tmp_path / "lib", who="ann") as lib:
        lib.ingest([src], show_progress=False, skip=NO_MODELS)
        ids = {Path(p).name: i for i, p in lib.photos().select("photo_id", "path").iter_rows()}
        assert lib.duplicates()["group_id"].n_unique() == 2
        lib.not_duplicate(ids["pillow_flower2.jpg"], ids["pillow_flower2.webp"])
        lib.not_duplicate(ids["fr_obama-480p.jpg"])
        lib.keep(ids["fr_obama-720p.jpg"])
        for _ in range(2):
            g = lib.duplicates()
            assert set(g["photo_id"]) == {ids["fr_obama-1080p.jpg"], ids["fr_obama-720p.jpg"]}
            assert g.filter("is_keeper")["photo_id"][0] == ids["fr_obama-720p.jpg"]
            lib.run_stage("hashes", list(ids.values()), show_progress=False)  # recompute
            lib.ingest([src], show_progress=False, skip=NO_MODELS)
        undo = lib.decisions("not_duplicate")["decision_id"][0]
        lib.undo(undo)
        assert lib.duplicates()["group_id"].n_unique() == 2  # the flower pair is back


def test_declined_pair_is_not_rejoined_through_a_third_photo(tmp_path: Path) -> None:
    src = tmp_path / "p"
    copy_files(src, ["dupes/fr_obama-1080p.jpg", "dupes/fr_obama-720p.jpg",
                     "dupes/fr_obama-480p.jpg"])
    with Library(tmp_path / "lib") as lib:
        lib.ingest([src], show_progress=False, skip=NO_MODELS)
        ids = {Path(p).name: i for i, p in lib.photos().select("photo_id", "path").iter_rows()}
        lib.not_duplicate(ids["fr_obama-1080p.jpg"], ids["fr_obama-480p.jpg"])
        for _, g in lib.duplicates().group_by("group_id"):
            assert not {ids["fr_obama-1080p.jpg"], ids["fr_obama-480p.jpg"]} <= set(
                g["photo_id"])


def test_resolve_moves_to_trash_and_undo_restores(tmp_path: Path) -> None:
    src = tmp_path / "p"
    files = copy_files(src, ["dupes/fr_obama-1080p.jpg", "dupes/fr_obama-720p.jpg",
                             "dupes/fr_obama-240p.jpg"])
    before = {f: f.read_bytes() for f in files}
    with Library(tmp_path / "lib") as lib:
        lib.ingest([src], show_progress=False, skip=NO_MODELS)
        keeper = lib.duplicates().filter("is_keeper")
        assert keeper["path"][0].endswith("fr_obama-1080p.jpg")
        decision = lib.resolve_duplicates(keeper["photo_id"][0])
        assert [f.name for f in src.iterdir()] == ["fr_obama-1080p.jpg"]
        trashed = sorted((tmp_path / "lib" / "trash").rglob("*.jpg"))
        assert len(trashed) == 2
        assert lib.photos().height == 1 and lib.duplicates().height == 0
        lib.ingest([src], show_progress=False, skip=NO_MODELS)  # no return from a re-ingest
        assert lib.photos().height == 1
        lib.undo(decision)
        assert {f: f.read_bytes() for f in files} == before  # every byte back in place
        assert not list((tmp_path / "lib" / "trash").rglob("*.jpg"))
        assert lib.photos().height == 3 and lib.duplicates()["group_id"].n_unique() == 1
        lib.ingest([src], show_progress=False, skip=NO_MODELS)
        assert lib.jobs()["counts"].str.json_path_match("$.new").to_list()[-1] == "0"


def test_sweep_scores_thresholds(corpus_lib, truth) -> None:
    pairs, universe = truth
    cands = corpus_lib.duplicate_candidates().filter(pl.col("photo_id").is_in(list(universe)))
    s = sweep(cands, pairs, thresholds=[0, 4, 8, 12, 16])
    assert s["threshold"].to_list() == [0, 4, 8, 12, 16]
    assert s["recall"].is_sorted() and s["recall"][-1] > s["recall"][0]
    assert s["precision"][0] == 1.0
    best = s.sort("f1", descending=True).row(0, named=True)
    assert best["f1"] >= 0.85, s


@pytest.mark.slow
def test_cli_dupes(tmp_path: Path) -> None:
    src = tmp_path / "p"
    copy_files(src, ["dupes/fr_obama-1080p.jpg", "dupes/fr_obama-720p.jpg"])
    lib = tmp_path / "lib"
    subprocess.run([*PHOTOLAB, "ingest", str(src), "-l", str(lib), "-q"], env=env(), check=True)
    out = subprocess.run([*PHOTOLAB, "dupes", "-l", str(lib), "--format", "csv",
                          "--threshold", "4"], env=env(), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("group_id,photo_id,kind,distance,is_keeper")
    assert len(lines) == 3


def test_corpus_is_where_the_tests_expect() -> None:
    assert corpus_file("dupes/fr_obama-1080p.jpg").parent == CORPUS / "dupes"


def test_mirror_matching_can_be_switched_off(corpus_lib, corpus_photos) -> None:
    from photolab.dedupe.groups import group_duplicates

    rel = dict(corpus_photos.select("photo_id", "rel").iter_rows())
    cands = corpus_lib.duplicate_candidates()
    for mirrored in (True, False):
        g = group_duplicates(cands, 8, mirrored=mirrored)
        grouped = {rel[p] for p in g["photo_id"]}
        assert ("dupes/ukb_ukbench00120_hflip.jpg" in grouped) == mirrored


def test_clip_pairs_scored_against_phash_on_the_corpus(corpus_lib, truth) -> None:
    """The evaluation a user runs with real CLIP weights (here the tests' tiny model): pHash
    alone first, then CLIP pairs added up to growing cosine distances."""
    from photolab.dedupe.evaluate import sweep_extra

    pairs, universe = truth
    photos = corpus_lib.duplicate_candidates().filter(pl.col("photo_id").is_in(list(universe)))
    clip = corpus_lib.embedding_pairs(0.05, k=20)
    table = sweep_extra(photos, pairs, clip, [0.001, 0.01, 0.05])
    print(table)
    alone = score_pairs(pairs_from_groups(corpus_lib.duplicates().filter(
        pl.col("photo_id").is_in(list(universe)))), pairs)
    assert table["pairs"][0] == 0 and table["recall"][0] == pytest.approx(alone["recall"])
    assert table["recall"].is_sorted() and table["pairs"].is_sorted()
    assert table["recall"][-1] > table["recall"][0]  # CLIP finds pairs pHash misses
