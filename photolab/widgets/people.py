"""People widgets: `ClusterReview` and `PersonLabeller` (inline and in Voilà), and
`embedding_view` (UMAP of the encodings, for researchers)."""

from __future__ import annotations

import html
from datetime import datetime
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import polars as pl

from ..errors import PhotolabError
from ._children import replace_children
from ._controls import Button, for_guests
from ._html import error_html
from .opened import WhenOpened

if TYPE_CHECKING:
    from ..library import Library

#: the most face crops one cluster shows at once
MAX_FACES = 48


def named_by(lib: Library, faces: pl.DataFrame) -> str:
    """" (named by Alice, 2 Dec)" for the person people named these faces as, else ""."""
    named = faces.filter(pl.col("assigned_by") == "user")["person_id"].mode()
    if named.len() == 0:
        return ""
    got = lib.named_by().filter(pl.col("person_id") == named[0])
    if got.height == 0:
        return ""
    when = datetime.fromisoformat(got["at"][0]).astimezone()
    return f" (named by {html.escape(str(got['who'][0]))}, {when.day} {when:%b})"


def _crop(lib: Library, face_id: int, size: int) -> bytes:
    try:
        return lib.face_crop(face_id, size)
    except PhotolabError:
        return b""


class _FaceGrid(w.Box):
    """Face crops, each with a toggle to select it (or, with `ticked`, a tick to leave out
    a face that is someone else) and a button that shows the face's whole photo."""

    def __init__(self, size: int = 110):
        self.size = size
        self.toggles: dict[int, w.ToggleButton | w.Checkbox] = {}
        super().__init__(layout=w.Layout(flex_flow="row wrap"))

    def show(self, lib: Library, faces: pl.DataFrame, selectable: bool = True,
             ticked: bool = False) -> None:
        self.toggles = {}
        cards = []
        width = w.Layout(width=f"{self.size}px")
        for r in faces.head(MAX_FACES).iter_rows(named=True):
            fid = int(r["face_id"])
            img = w.Image(value=_crop(lib, fid, self.size), format="jpeg",
                          layout=w.Layout(width=f"{self.size}px", height=f"{self.size}px"))
            who = r["person_name"] or ""
            if who and r["assigned_by"] != "user":
                who = f"{who}? {r['confidence']:.0%}"
            parts: list[w.Widget] = [img, w.HTML(f"<small>{html.escape(who)}</small>")]
            if ticked:
                t: w.ToggleButton | w.Checkbox = w.Checkbox(
                    value=True, description="this one", indent=False, layout=width)
                self.toggles[fid] = t
                parts.append(t)
            elif selectable:
                t = w.ToggleButton(description="select", layout=width)
                self.toggles[fid] = t
                parts.append(t)
            parts.append(self._photo_button(lib, int(r["photo_id"]), img))
            cards.append(w.VBox(parts, layout=w.Layout(margin="3px")))
        replace_children(self, cards)

    def _photo_button(self, lib: Library, photo_id: int, img: w.Image) -> w.ToggleButton:
        """Shows the whole photo in place of the crop while pressed."""
        crop = img.value
        b = w.ToggleButton(description="photo", tooltip="show the whole photo",
                           layout=w.Layout(width=f"{self.size}px"))

        def flip(change: dict[str, Any]) -> None:
            if not change["new"]:
                img.value, img.format = crop, "jpeg"
                return
            try:
                img.value, img.format = lib.thumbnail(photo_id, "small").read_bytes(), "webp"
            except PhotolabError:
                b.description = "no photo"

        b.observe(flip, "value")
        return b

    def selected(self) -> list[int]:
        return [f for f, t in self.toggles.items() if t.value]

    def left_out(self) -> list[int]:
        return [f for f, t in self.toggles.items() if not t.value]


class ClusterReview(w.VBox):
    """Review face clusters, largest first: accept a cluster as a person, split off
    selected faces, merge it into a known person, reject it; sliders recluster live.

    Parameters
    ----------
    library : the Library to review.
    crop_size : pixels of each face crop.

    Example (the widget is the cell's output)::

        ClusterReview(Library("~/Pictures/photolab"))
    """

    def __init__(self, library: Library, crop_size: int = 110):
        self.lib = library
        self.index = 0
        self.last: list[int] = []
        c = library.clusterer()
        style = {"description_width": "150px"}
        self.min_size = w.IntSlider(value=c.min_cluster_size, min=2, max=20,
                                    description="min cluster size", style=style,
                                    continuous_update=False)
        self.min_samples = w.IntSlider(value=c.min_samples or c.min_cluster_size, min=1, max=20,
                                       description="min samples", style=style,
                                       continuous_update=False)
        self.epsilon = w.FloatSlider(value=c.cluster_selection_epsilon, min=0.0, max=1.0,
                                     step=0.05, description="selection epsilon", style=style,
                                     continuous_update=False)
        self.prev = Button(description="◀ previous", layout=w.Layout(width="110px"))
        self.next = Button(description="next ▶", layout=w.Layout(width="110px"))
        self.position = w.HTML()
        self.grid = _FaceGrid(crop_size)
        self.name = w.Combobox(placeholder="name", ensure_option=False,
                               layout=w.Layout(width="220px"))
        self.accept = Button(description="Accept as person", button_style="success")
        self.split = Button(description="Split off selected")
        self.merge_to = w.Dropdown(description="merge into", layout=w.Layout(width="260px"))
        self.merge = Button(description="Merge")
        self.reject = Button(description="Reject", button_style="warning")
        self.undo = Button(description="Undo", icon="undo", disabled=True)
        self.status = w.HTML()
        for s in (self.min_size, self.min_samples, self.epsilon):
            s.observe(lambda _: self.recluster(), names="value")
        self.prev.on_click(lambda _: self.show(self.index - 1))
        self.next.on_click(lambda _: self.show(self.index + 1))
        self.accept.on_click(lambda _: self._do(self._accept))
        self.split.on_click(lambda _: self._do(self._split))
        self.merge.on_click(lambda _: self._do(self._merge))
        self.reject.on_click(lambda _: self._do(self._reject))
        self.undo.on_click(lambda _: self._do(self._undo))
        changing = (self.min_size, self.min_samples, self.epsilon, self.name, self.accept,
                    self.split, self.merge_to, self.merge, self.reject, self.undo)
        super().__init__([
            w.HBox([self.min_size, self.min_samples, self.epsilon]),
            w.HBox([self.prev, self.position, self.next]), self.grid,
            w.HBox([self.name, self.accept, self.split, self.merge_to, self.merge, self.reject,
                    self.undo]),
            self.status, for_guests(library.read_only, *changing),
            WhenOpened(library, self.refresh)])
        self.refresh()

    # -- state ------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload faces and people from the catalog and redraw."""
        self.faces = self.lib.faces(encodings=False)
        self.cluster_ids = (self.faces.filter(pl.col("cluster_id").is_not_null())
                            .group_by("cluster_id").len()
                            .sort(["len", "cluster_id"], descending=[True, False])
                            ["cluster_id"].to_list())
        people = self.lib.people(self.faces)
        self.name.options = tuple(people["name"].to_list())
        self.merge_to.options = [(f"{n} ({k})", p) for p, n, k in
                                 people.select("person_id", "name", "n_faces").iter_rows()]
        self.show(self.index)

    def recluster(self) -> None:
        """Cluster again with the sliders' values (names people gave are kept)."""
        try:
            self.lib.cluster_faces(min_cluster_size=self.min_size.value,
                                   min_samples=self.min_samples.value,
                                   cluster_selection_epsilon=self.epsilon.value)
        except PhotolabError as e:
            self.status.value = error_html(e, self.lib.read_only)
            return
        self.index = 0
        self.refresh()
        self.status.value = f"reclustered: {len(self.cluster_ids)} clusters"

    def current(self) -> pl.DataFrame:
        """The faces of the cluster on screen."""
        if not self.cluster_ids:
            return self.faces.clear()
        return self.faces.filter(pl.col("cluster_id") == self.cluster_ids[self.index])

    def show(self, index: int) -> None:
        n = len(self.cluster_ids)
        self.index = max(0, min(index, n - 1)) if n else 0
        self.prev.disabled = self.index == 0
        self.next.disabled = self.index >= n - 1
        for b in (self.accept, self.split, self.merge, self.reject):
            b.disabled = n == 0 or self.lib.read_only
        if not n:
            self.position.value = "no clusters: ingest photos with faces, or lower the sliders"
            replace_children(self.grid, ())
            return
        f = self.current()
        top = f.filter(pl.col("person_name").is_not_null())["person_name"].mode()
        guess = top[0] if top.len() else ""
        self.position.value = (f"cluster {self.index + 1} of {n}: {f.height} faces"
                               + (f" · {html.escape(guess)}" if guess else "")
                               + named_by(self.lib, f))
        self.name.value = guess
        self.grid.show(self.lib, f)

    # -- callbacks --------------------------------------------------------------------------

    def _do(self, action: Any) -> None:
        try:
            message = action()
        except PhotolabError as e:
            self.status.value = error_html(e, self.lib.read_only)
            return
        self.undo.disabled = not self.last
        self.refresh()  # the new state is on the page before the message says it is done
        self.status.value = html.escape(message)

    def _accept(self) -> str:
        name = self.name.value.strip()
        if not name:
            raise PhotolabError("type a name first")
        f = self.current()
        _, self.last = self.lib.faces.assign(f["face_id"].to_list(), name)
        return f"{f.height} faces named {name}"

    def _split(self) -> str:
        chosen = self.grid.selected()
        if not chosen:
            raise PhotolabError("select the faces to split off first")
        self.last = [self.lib.split_faces(chosen)]
        return f"{len(chosen)} faces split off"

    def _merge(self) -> str:
        if self.merge_to.value is None:
            raise PhotolabError("pick a person to merge into")
        f = self.current()
        _, self.last = self.lib.faces.assign(f["face_id"].to_list(), int(self.merge_to.value))
        return f"{f.height} faces merged into {self.merge_to.label}"

    def _reject(self) -> str:
        f = self.current()
        self.last = [self.lib.reject_faces(f["face_id"].to_list())]
        return f"{f.height} faces rejected"

    def _undo(self) -> str:
        if not self.last:
            return "nothing to undo"
        for d in self.last:
            self.lib.undo(d)
        self.last = []
        return "undone"


class PersonLabeller(w.VBox):
    """Name people one unnamed cluster at a time: type a name (existing names complete),
    untick any face that is someone else ("photo" shows a face's whole photo), save, or
    skip. Only ticked faces get the name; unticked ones are split off the group, so the
    name is not suggested for them either.

    Parameters
    ----------
    library : the Library to label.
    crop_size : pixels of each face crop.
    """

    def __init__(self, library: Library, crop_size: int = 120):
        self.lib = library
        self.skipped: set[int] = set()
        self.heading = w.HTML()
        self.grid = _FaceGrid(crop_size)
        self.name = w.Combobox(placeholder="Who is this?", ensure_option=False,
                               layout=w.Layout(width="260px"))
        self.save = Button(description="Save name", button_style="success")
        self.skip = Button(description="Skip")
        self.status = w.HTML()
        self.save.on_click(lambda _: self._save())
        self.skip.on_click(lambda _: self._skip())
        super().__init__([self.heading, self.grid, w.HBox([self.name, self.save, self.skip]),
                          self.status, for_guests(library.read_only, self.name, self.save),
                          WhenOpened(library, self.refresh)])
        self.refresh()

    def unnamed(self) -> list[int]:
        """Clusters with no face a person named yet, largest first (skipped ones last)."""
        f = self.faces.filter(pl.col("cluster_id").is_not_null())
        named = f.filter(pl.col("assigned_by") == "user")["cluster_id"].unique()
        sizes = (f.filter(~pl.col("cluster_id").is_in(named.to_list())).group_by("cluster_id").len()
                 .with_columns(skipped=pl.col("cluster_id").is_in(list(self.skipped)))
                 .sort(["skipped", "len", "cluster_id"], descending=[False, True, False]))
        return sizes["cluster_id"].to_list()

    def refresh(self) -> None:
        self.faces = self.lib.faces(encodings=False)
        self.name.options = tuple(self.lib.people(self.faces)["name"].to_list())
        todo = self.unnamed()
        self.cluster = todo[0] if todo else None
        self.skip.disabled = self.cluster is None
        self.save.disabled = self.cluster is None or self.lib.read_only
        if self.cluster is None:
            self.heading.value = "<b>Everyone is named.</b>"
            replace_children(self.grid, ())
            return
        f = self.faces.filter(pl.col("cluster_id") == self.cluster)
        guess = f.filter(pl.col("person_name").is_not_null())["person_name"].mode()
        left = f"{len(todo)} group{'s' if len(todo) > 1 else ''}"
        self.heading.value = f"<b>Who is this?</b> {f.height} faces · {left} left to name"
        self.name.value = guess[0] if guess.len() else ""
        self.grid.show(self.lib, f.head(MAX_FACES), ticked=True)

    def _save(self) -> None:
        name = self.name.value.strip()
        if not name or self.cluster is None:
            self.status.value = error_html(PhotolabError("type a name first"))
            return
        chosen, others = self.grid.selected(), self.grid.left_out()
        if not chosen:
            self.status.value = error_html(PhotolabError("tick at least one face"))
            return
        try:
            self.lib.name_faces(chosen, name)
            if others:  # someone else: out of this group, never suggested as `name`
                self.lib.split_faces(others)
        except PhotolabError as e:
            self.status.value = error_html(e, self.lib.read_only)
            return
        also = f", {len(others)} left out" if others else ""
        self.refresh()  # the page shows the next group before it says "saved"
        self.status.value = f"saved: {len(chosen)} faces are {html.escape(name)}{also}"

    def _skip(self) -> None:
        if self.cluster is not None:
            self.skipped.add(self.cluster)
        self.refresh()
        self.status.value = "skipped"


def embedding_view(library: Library, color: str = "person", n_neighbors: int = 15,
                   seed: int = 0) -> w.HBox:
    """A UMAP map of the face encodings (plotly), coloured by `person` or `cluster`; hovering
    a point shows that face's crop beside the map.

    Needs `umap-learn` and `plotly` (`pip install photolab[widgets]`).
    """
    import numpy as np
    import plotly.graph_objects as go
    import umap

    f = library.faces().filter(~pl.col("ignored") & pl.col("encoding").is_not_null())
    if f.height < 3:
        raise PhotolabError("the embedding view needs at least 3 faces")
    x = f["encoding"].to_numpy()
    xy = umap.UMAP(n_neighbors=min(n_neighbors, f.height - 1), random_state=seed,
                   n_jobs=1).fit_transform(x)
    key = (pl.col("person_name").fill_null("unnamed") if color == "person"
           else pl.col("cluster_id").cast(pl.String).fill_null("noise"))
    f = f.with_columns(group=key, x=pl.Series(xy[:, 0]), y=pl.Series(xy[:, 1]))
    fig = go.FigureWidget(layout=go.Layout(width=700, height=550, hovermode="closest",
                                           title=f"faces by {color} (UMAP)"))
    for g, part in f.group_by("group", maintain_order=True):
        fig.add_scattergl(x=part["x"].to_numpy(), y=part["y"].to_numpy(), mode="markers",
                          name=str(g[0]), customdata=np.asarray(part["face_id"]),
                          hovertemplate="face %{customdata}<extra>%{fullData.name}</extra>")
    crop = w.Image(format="jpeg", layout=w.Layout(width="160px", height="160px"))

    def hover(trace: Any, points: Any, _state: Any) -> None:
        if points.point_inds:
            crop.value = _crop(library, int(trace.customdata[points.point_inds[0]]), 160)

    for trace in fig.data:
        trace.on_hover(hover)
    box = w.HBox([fig, crop])
    box.frame = f.drop("encoding")  # type: ignore[attr-defined]
    return box
