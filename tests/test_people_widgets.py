"""People widgets driven as a person would: clicks and slider moves change the catalog."""

from __future__ import annotations

import polars as pl

from photolab import Library
from photolab.widgets import ClusterReview, PersonLabeller, embedding_view


def user_named(lib: Library) -> pl.DataFrame:
    return lib.faces(encodings=False).filter(pl.col("assigned_by") == "user")


def test_cluster_review_accept_split_merge_reject_undo(lib_copy: Library) -> None:
    lib = lib_copy
    review = ClusterReview(lib)
    sizes = [lib.faces(encodings=False).filter(pl.col("cluster_id") == c).height
             for c in review.cluster_ids]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] >= 3  # largest first
    first = review.current()
    assert len(review.grid.children) == first.height
    assert all(len(card.children[0].value) > 500 for card in review.grid.children)  # crops
    # accept as a person
    review.name.value = "First Person"
    review.accept.click()
    assert "named First Person" in review.status.value
    named = user_named(lib)
    assert set(first["face_id"]) <= set(named["face_id"])
    assert review.name.options[0] == "First Person"  # now offered as a completion
    # undo takes it back
    review.undo.click()
    assert not set(first["face_id"]) & set(user_named(lib)["face_id"])
    # split off selected faces: they leave the cluster
    chosen = list(review.grid.toggles)[:1]
    review.grid.toggles[chosen[0]].value = True
    review.split.click()
    f = lib.faces(encodings=False)
    moved = f.filter(pl.col("face_id") == chosen[0])["cluster_id"][0]
    stayed = f.filter(pl.col("face_id").is_in(first["face_id"].to_list()[1:]))["cluster_id"]
    assert moved not in set(stayed.drop_nulls())
    # merge the next cluster into a known person
    review.show(1)
    second = review.current()
    review.merge_to.value = lib.people().filter(pl.col("name") == "Marie Curie")["person_id"][0]
    review.merge.click()
    got = lib.faces(encodings=False).filter(pl.col("face_id").is_in(second["face_id"].to_list()))
    assert (got["person_name"] == "Marie Curie").all() and (got["assigned_by"] == "user").all()
    # reject a cluster: its faces leave clusters and suggestions
    review.show(2)
    third = review.current()
    review.reject.click()
    got = lib.faces(encodings=False).filter(pl.col("face_id").is_in(third["face_id"].to_list()))
    assert got["ignored"].all() and got["cluster_id"].is_null().all()
    # sliders recluster live; names stay
    before = user_named(lib).select("face_id", "person_id").sort("face_id")
    review.min_size.value = 4
    assert "reclustered" in review.status.value
    assert user_named(lib).select("face_id", "person_id").sort("face_id").equals(before)
    assert lib.jobs().filter(pl.col("kind") == "cluster")["params"].str.contains(
        '"min_cluster_size": 4').any()


def test_person_labeller_names_and_skips(lib_copy: Library) -> None:
    lib = lib_copy
    labeller = PersonLabeller(lib)
    first = labeller.cluster
    assert first is not None and "left to name" in labeller.heading.value
    assert set(labeller.name.options) >= {"Marie Curie", "Pierre Curie"}
    labeller.skip.click()
    assert labeller.cluster != first
    second = labeller.cluster
    faces = lib.faces(encodings=False).filter(pl.col("cluster_id") == second)
    labeller.name.value = "  Ada  "
    labeller.save.click()
    assert "are Ada" in labeller.status.value
    got = lib.faces(encodings=False).filter(pl.col("face_id").is_in(faces["face_id"].to_list()))
    assert (got["person_name"] == "Ada").all()
    assert second not in labeller.unnamed() and labeller.cluster == labeller.unnamed()[0]
    labeller.name.value = ""
    labeller.save.click()
    assert "type a name" in labeller.status.value


def test_the_labeller_names_only_the_faces_left_ticked(lib_copy: Library) -> None:
    """A stranger in the group shown: untick it, and the name goes to the others only; the
    stranger leaves the group and is not suggested as that person. "photo" shows the whole
    photo in place of the crop, and back."""
    lib = lib_copy
    labeller = PersonLabeller(lib)
    while labeller.cluster is not None and len(labeller.grid.toggles) < 3:
        labeller.skip.click()
    group = list(labeller.grid.toggles)
    assert len(group) >= 3 and all(t.value for t in labeller.grid.toggles.values())
    stranger = group[-1]
    card = labeller.grid.children[-1]
    crop = card.children[0].value
    card.children[-1].value = True  # "photo"
    assert card.children[0].format == "webp" and card.children[0].value != crop
    card.children[-1].value = False
    assert card.children[0].value == crop
    labeller.grid.toggles[stranger].value = False
    labeller.name.value = "Grace"
    labeller.save.click()
    assert "1 left out" in labeller.status.value, labeller.status.value
    f = lib.faces(encodings=False).filter(pl.col("face_id").is_in(group))
    named = f.filter((pl.col("person_name") == "Grace") & (pl.col("assigned_by") == "user"))
    assert set(named["face_id"]) == set(group[:-1])
    odd = f.filter(pl.col("face_id") == stranger).row(0, named=True)
    # out of the group (the corpus face here is in fact close to the others: the classifier
    # may still suggest it, as a suggestion, never from the group's vote)
    assert odd["assigned_by"] != "user" and odd["cluster_id"] not in set(named["cluster_id"])
    assert odd["assigned_by"] != "cluster"
    for t in labeller.grid.toggles.values():
        t.value = False
    labeller.name.value = "Nobody"
    labeller.save.click()
    assert "tick at least one face" in labeller.status.value


def test_embedding_view_colours_by_person_and_shows_crops(lib_copy: Library) -> None:
    view = embedding_view(lib_copy, color="person")
    fig, crop = view.children
    names = {t.name for t in fig.data}
    assert {"Marie Curie", "Pierre Curie", "unnamed"} <= names
    assert sum(len(t.x) for t in fig.data) == view.frame.height  # type: ignore[attr-defined]
    trace = next(t for t in fig.data if t.name == "Marie Curie")

    points = type("Points", (), {"point_inds": (0,)})()
    trace._hover_callbacks[0](trace, points, None)
    assert crop.value[:2] == b"\xff\xd8"  # a JPEG crop of that face
