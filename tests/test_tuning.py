"""The researcher's workbench: the field's face rules (photolab.faces.methods) compared on
labels (photolab.faces.evaluate.compare), the duplicate rules (photolab.dedupe.evaluate), and
the live Tuner widget; on hand-made encodings, generated faces and the corpus's labels."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from photolab import Library
from photolab.errors import PhotolabError, ReadOnlyError
from photolab.faces import evaluate, methods

from .conftest import CORPUS

DATA = Path(__file__).parent / "data"


def people(sizes: list[int], spread: float = 0.02, seed: int = 0) -> tuple[np.ndarray, list]:
    """Encodings of people with these numbers of faces, far apart, and who each face is."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 0.1, (len(sizes), 128))
    who = np.repeat(np.arange(len(sizes)), sizes)
    return centres[who] + rng.normal(0, spread, (len(who), 128)), who.tolist()


def test_immichs_rule_waits_for_core_faces_and_gives_the_rest_a_second_chance() -> None:
    x, _ = people([3, 2, 1])
    labels = methods.immich(x, max_distance=0.5, min_faces=3)
    # three faces of one person are core: a person; two faces are never core and no person
    # is near them; a face alone has no match at all
    assert labels[:3].tolist() == [0, 0, 0] and labels[3:].tolist() == [-1, -1, -1]
    assert methods.immich(x, min_faces=2)[3:5].tolist() == [1, 1]
    # a face within reach of a person but not core itself joins in the second pass
    y = np.vstack([x[:3], x[:1] + 0.001])
    assert methods.immich(y, min_faces=5).tolist() == [-1, -1, -1, -1]
    assert methods.immich(np.vstack([x[:3], x[2:3] + 0.01]), min_faces=3).tolist() == [0] * 4


def test_photoprisms_rule_matches_the_rest_to_a_clusters_mean() -> None:
    x, _ = people([5, 1], spread=0.005)
    near_one = x[:5].mean(0) + 0.4 / np.sqrt(128)  # 0.4 from person 0's mean face
    y = np.vstack([x, near_one])
    labels = methods.photoprism(y, cluster_core=4, cluster_dist=0.3, match_dist=0.46)
    assert labels[:5].tolist() == [0] * 5 and labels[5] == -1 and labels[6] == 0
    assert methods.photoprism(y, cluster_core=4, cluster_dist=0.3, match_dist=0.3)[6] == -1


def test_librephotos_rule_labels_the_rest_with_a_classifier_of_named_faces() -> None:
    x, who = people([4, 4, 1])
    named = np.full(len(who), -1)
    named[[0, 4]] = [0, 1]  # one face of each person named
    labels = methods.librephotos(x, named=named)
    assert labels[:4].tolist() == [0] * 4 and labels[4:8].tolist() == [1] * 4
    assert methods.librephotos(x)[:4].tolist() == [0] * 4  # DBSCAN alone without names


def test_compare_scores_every_rule_and_a_researchers_own() -> None:
    x, who = people([6, 5, 4, 3, 1, 1, 1])
    index = pl.DataFrame({"i": np.arange(len(who), dtype=np.uint32),
                          "person": [str(w) for w in who]})
    named = index.filter(pl.len().over("person") > 1).group_by(
        "person", maintain_order=True).head(1).select(
        "i", person_id=pl.col("person").cast(pl.Int64), seeded=pl.lit(True))

    def everyone_together(encodings: np.ndarray) -> np.ndarray:
        return np.zeros(len(encodings), dtype=int)

    chosen = evaluate.choose([*methods.RULES, everyone_together])
    out = evaluate.compare_encodings(x, np.arange(len(who)), index, chosen, named)
    assert out["method"].to_list() == [*methods.RULES, "everyone_together"]
    assert set(out.columns) == set(evaluate.COMPARE_SCHEMA)
    best = out.filter(pl.col("method") == "photolab").row(0, named=True)
    assert best["bcubed_f1"] == 1.0 and best["foreign_faces"] == 0
    assert best["unknown_faces"] == 3 and best["n_clusters"] == 4
    worst = out.filter(pl.col("method") == "everyone_together").row(0, named=True)
    # 17 faces scored (one of each person of several is the classifier's seed), 5 of the
    # first person: the other 12 are foreign in the one cluster
    assert worst["bcubed_precision"] < 0.5 and worst["foreign_faces"] == 12
    with pytest.raises(PhotolabError, match="unknown method"):
        evaluate.choose(["dbscan-nobody"])
    tighter = evaluate.choose({"dbscan-immich": {"max_distance": 0.3}})
    assert tighter[0][2] == {"max_distance": 0.3, "min_faces": 3}


def test_a_truth_file_that_matches_nothing_says_how_many_rows_matched(tmp_path: Path) -> None:
    with Library(tmp_path / "lib") as lib:
        (tmp_path / "t.csv").write_text("path,person\n/nowhere/a.jpg,ada\nb.jpg,grace\n")
        with pytest.raises(PhotolabError, match=r"0 of 2 rows matched a face \(2 name nothing"):
            evaluate.read_truth(lib, tmp_path / "t.csv")
        with pytest.raises(PhotolabError, match="needs `person`"):
            evaluate.read_truth(lib, pl.DataFrame({"path": ["a"], "who": ["b"]}))
        from photolab.dedupe.evaluate import read_truth as dupe_truth

        with pytest.raises(PhotolabError, match="0 of 1 rows matched a photo"):
            dupe_truth(lib, pl.DataFrame({"path": ["x.jpg"], "group": [1]}))


@pytest.mark.slow
def test_the_corpus_labels_every_rule_and_the_duplicate_rules(corpus_lib: Library) -> None:
    """The 96 labelled corpus faces (tests/data/face_labels.csv, by box) and the labelled
    duplicates (tests/data/dupe_labels.csv), through the public verbs."""
    faces = evaluate.compare(corpus_lib, DATA / "face_labels.csv")
    by = {r["method"]: r for r in faces.iter_rows(named=True)}
    assert list(by) == list(methods.RULES)
    assert by["photolab"]["bcubed_f1"] >= 0.99 and by["photolab"]["foreign_faces"] == 0
    # HDBSCAN alone lets strangers into people's clusters (docs/decisions.md)
    assert by["hdbscan"]["foreign_faces"] > 0
    assert by["hdbscan"]["bcubed_f1"] == pytest.approx(by["hdbscan-sklearn"]["bcubed_f1"])
    from photolab.dedupe.evaluate import compare as compare_dupes

    dupes = compare_dupes(corpus_lib, DATA / "dupe_labels.csv", radii=(8,))
    by = {r["method"]: r for r in dupes.iter_rows(named=True)}
    assert by["exact"]["precision"] == 1.0 and by["exact"]["tp"] == 3  # byte-identical pairs
    assert by["phash"]["recall"] > by["exact"]["recall"] and by["phash"]["precision"] == 1.0
    assert 0 < by["dhash"]["recall"] <= by["phash"]["recall"]
    assert "clip" in by  # the tiny CLIP model's vectors: scored, whatever they are worth


@pytest.mark.slow
def test_the_tuner_redraws_10000_faces_within_a_second(tmp_path: Path) -> None:
    """10,000 generated faces (their map: two principal axes, as UMAP of 10,000 faces takes
    45 s here: the corpus test below draws UMAP): each slider move re-clusters, scores and
    redraws in under a second."""
    from photolab.widgets import Tuner

    from .generated_faces import generated

    x, who = generated(10_000)
    faces = pl.DataFrame({"face_id": np.arange(len(x)), "photo_id": np.arange(len(x)),
                          "encoding": x}).with_columns(pl.col("encoding").cast(
                              pl.Array(pl.Float32, 128)))
    truth = pl.DataFrame({"face_id": np.arange(len(x)), "person": who.astype(str)})
    with Library(tmp_path / "lib") as lib:
        centred = x - x.mean(0)
        axes = np.linalg.svd(centred[:2000], full_matrices=False)[2][:2]
        tuner = Tuner(lib, truth=truth, faces=faces, layout=centred @ axes.T)
        seconds = [tuner.set(radius=r) for r in (0.45, 0.55, 0.35, 0.5)]
        assert max(seconds) < 1.0, seconds
        assert "F1 <b>" in tuner.scores.value and "faces changed cluster" in tuner.changes.value
        tuner.method.value = "dbscan-immich"
        assert tuner.set(max_distance=0.45) < 1.0
        assert len(tuner.fig.data[0].marker.color) == len(x)


@pytest.mark.slow
def test_the_tuner_on_a_library_keeps_its_map_and_its_choice(lib_copy: Library) -> None:
    """The corpus library's faces: a click shows the face and its photo; "Use these"
    writes photolab.toml and re-clusters, names kept; a read-only library refuses it with
    nothing written."""
    from photolab.settings import Settings
    from photolab.widgets import Tuner

    lib = lib_copy
    named = lib.faces().filter(pl.col("assigned_by") == "user").select("face_id", "person_name")
    t = time.perf_counter()
    tuner = Tuner(lib, truth=DATA / "face_labels.csv")
    first = time.perf_counter() - t
    assert list((lib.root / "cache").glob("tuner-umap-*.npy"))
    t = time.perf_counter()
    Tuner(lib)
    assert time.perf_counter() - t < first  # the map read back, not computed again
    face = int(tuner.faces["face_id"][0])
    tuner.show_face(face)
    assert tuner.face.value[:2] == b"\xff\xd8" and tuner.photo.value[:4] == b"RIFF"
    tuner.set(radius=0.45, min_cluster_size=3)
    readonly = Library(lib.root, read_only=True)
    with pytest.raises(ReadOnlyError):
        Tuner(readonly).use_these()
    assert Settings.load(lib.root).cluster_radius == lib.settings.cluster_radius
    readonly.close()
    assert tuner.use_these() == "cluster_radius = 0.45, cluster_min_size = 3"
    saved = Settings.load(lib.root)
    assert (saved.cluster_radius, saved.cluster_min_size) == (0.45, 3)
    after = lib.faces().filter(pl.col("assigned_by") == "user").select("face_id", "person_name")
    assert after.sort("face_id").equals(named.sort("face_id"))
    tuner.method.value = "dbscan-photoprism"
    with pytest.raises(PhotolabError, match="only photolab's own rule"):
        tuner.use_these()
    assert CORPUS.exists()
