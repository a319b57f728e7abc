"""Widgets driven as a person would: clicks and slider moves change the catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from photolab import Library
from photolab.widgets import DuplicateReview

from .conftest import copy_files


@pytest.fixture
def lib(tmp_path: Path) -> Library:
    src = tmp_path / "p"
    copy_files(src, ["dupes/fr_obama-1080p.jpg", "dupes/fr_obama-720p.jpg",
                     "dupes/fr_obama-240p.jpg", "dupes/pillow_flower2.jpg",
                     "dupes/pillow_flower2.webp", "dupes/ianare_canon_hdr_NO.jpg",
                     "dupes/ianare_canon_hdr_YES.jpg"])
    with Library(tmp_path / "lib", who="ann") as library:
        library.ingest([src], show_progress=False, skip=["faces", "people"])
        library.src = src  # type: ignore[attr-defined]
        yield library


def names(review: DuplicateReview) -> list[str]:
    return [Path(p).name for p in review.current()["path"]]


def test_shows_groups_with_thumbnails_and_facts(lib: Library) -> None:
    review = DuplicateReview(lib)
    assert len(review.group_ids) == 2
    assert names(review)[0] == "fr_obama-1080p.jpg"  # keeper first, largest group first
    card = review.cards.children[0]
    image, info = card.children[0], card.children[1]
    assert image.value[:4] == b"RIFF" and image.value[8:12] == b"WEBP"  # bytes from kernel
    assert "keeper" in info.value and "1920×1080" in info.value
    assert "distance" in review.cards.children[1].children[1].value
    assert "3 copies" in review.position.value
    review.next.click()
    assert names(review) == ["pillow_flower2.jpg", "pillow_flower2.webp"]
    assert review.next.disabled and not review.prev.disabled


def test_slider_regroups_live(lib: Library) -> None:
    review = DuplicateReview(lib, threshold=8)
    assert len(review.group_ids) == 2
    review.slider.value = 20  # the HDR on/off pair (distance 16) joins
    assert len(review.group_ids) == 3
    review.slider.value = 0  # only identical pHashes (the resized copies) stay grouped
    assert review.groups["distance"].max() == 0
    assert len(review.group_ids) == 2


def test_keep_and_not_duplicate_are_stored_decisions(lib: Library) -> None:
    review = DuplicateReview(lib)
    small = next(c for c in review.cards.children
                 if lib.photos().filter(lib.photos()["photo_id"] == c.photo_id)["path"][0]
                 .endswith("240p.jpg"))
    small.not_duplicate_button.click()
    assert "fr_obama-240p.jpg" not in names(review)
    d = lib.decisions("not_duplicate").row(0, named=True)
    assert d["who"] == "ann"
    second = review.cards.children[1]
    second.keep_button.click()
    assert review.keeper() == second.photo_id
    assert lib.decisions("keep")["photo_id"].to_list() == [second.photo_id]


def test_a_review_run_ahead_catches_up_when_its_page_opens(lib: Library) -> None:
    """A preheated page's review, built before anyone asked, shows what was decided
    elsewhere meanwhile once a page shows it; nothing changed: it reads nothing again."""
    from photolab.widgets.opened import WhenOpened

    review = DuplicateReview(lib)
    [opened] = [c for c in review.children if isinstance(c, WhenOpened)]
    reads = []
    review.refresh = lambda real=review.refresh: (reads.append(1), real())[1]  # type: ignore
    opened.refresh = review.refresh
    opened._handle_custom_msg({"type": "opened"}, [])
    assert reads == [] and len(review.group_ids) == 2
    flower = lib.photos().filter(lib.photos()["path"].str.ends_with("flower2.webp"))
    with Library(lib.root, who="bo") as elsewhere:  # another kernel, or the CLI
        elsewhere.not_duplicate(int(flower["photo_id"][0]))
    opened._handle_custom_msg({"type": "opened"}, [])
    assert reads == [1] and len(review.group_ids) == 1
    opened._handle_custom_msg({"type": "opened"}, [])
    assert reads == [1]


def test_a_served_review_shows_its_first_group_as_html(lib: Library,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Served, the review writes its first group into the page before its widgets (which
    remove it when shown); in a notebook, the widget only."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from photolab.widgets.opened import WhenOpened

    InteractiveShell.instance()
    review = DuplicateReview(lib)
    with capture_output() as unserved:
        review._ipython_display_()
    assert len(unserved.outputs) == 1
    monkeypatch.setenv("PHOTOLAB_SERVED", "1")
    with capture_output() as served:
        review._ipython_display_()
    early, widget = served.outputs
    assert early.metadata == {"photolab": "early"}
    assert "application/vnd.jupyter.widget-view+json" in widget.data
    text = early.data["text/html"]
    assert f"group 1 of 2: {review.current().height} copies" in text
    assert text.count("<img src='data:image/webp") == review.current().height
    assert text.count("<b>★ keeper</b>") == 1
    [opened] = [c for c in review.children if isinstance(c, WhenOpened)]
    assert opened.clears_early


def test_resolve_and_undo_from_the_widget(lib: Library) -> None:
    review = DuplicateReview(lib)
    before = sorted(p.name for p in lib.src.iterdir())  # type: ignore[attr-defined]
    review.resolve.click()
    after = sorted(p.name for p in lib.src.iterdir())  # type: ignore[attr-defined]
    assert set(before) - set(after) == {"fr_obama-720p.jpg", "fr_obama-240p.jpg"}
    assert len(review.group_ids) == 1 and not review.undo.disabled
    review.undo.click()
    assert sorted(p.name for p in lib.src.iterdir()) == before  # type: ignore[attr-defined]
    assert len(review.group_ids) == 2 and review.undo.disabled
