"""Places widgets: `PlaceSunburst` (country > region > city; a click opens that place's
timeline), `place_map` (photo locations, nearby points clustered; drawn with no tiles) and
`PlaceMap` (that map on a page run ahead). `photolab.widgets.covers.PlacesPage` shows the
most photographed places as covers."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import polars as pl
import traitlets

from ..errors import PlaceNotFoundError
from ._children import close_tree
from .front import esm
from .opened import WhenOpened
from .photos import PhotosApp

if TYPE_CHECKING:
    from ..library import Library


def sunburst_frame(hierarchy: pl.DataFrame) -> pl.DataFrame:
    """Plotly sunburst rows (`id`, `parent`, `label`, `value`) from
    `Library.place_hierarchy()`: one row per country, region and city (a slice's photos:
    `Library.place_photos(id)`)."""
    h = hierarchy.with_columns(
        c=pl.col("country"), r=pl.col("country") + "/" + pl.col("region"),
        t=pl.col("country") + "/" + pl.col("region") + "/" + pl.col("city"))
    levels = [
        h.group_by("c").agg(value=pl.col("n_photos").sum())
        .select(id="c", parent=pl.lit(""), label="c", value="value"),
        h.group_by("r", "c", "region").agg(value=pl.col("n_photos").sum())
        .select(id="r", parent="c", label="region", value="value"),
        h.select(id="t", parent="r", label="city", value="n_photos"),
    ]
    return pl.concat([lv.with_columns(pl.col("value").cast(pl.Int64)) for lv in levels]
                     ).sort("id")




#: the mime type plotly's extension draws
PLOTLY_MIME = "application/vnd.plotly.v1+json"
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


def figure_json(figure: Any) -> dict[str, Any]:
    """A plotly figure as plain JSON (plotly's own encoder: arrays become lists), with the
    pages' config."""
    return {**json.loads(figure.to_json()), "config": PLOTLY_CONFIG}


def figure_bundle(figure: Any, text: str) -> dict[str, Any]:
    """A plotly figure as the output plotly's extension draws (no 5 MB of plotly.js in the
    notebook, no widget)."""
    return {PLOTLY_MIME: figure_json(figure), "text/plain": text}


class ChartHook(WhenOpened):
    """An element of no size beside a plain plotly figure: brings a sunburst's clicks back
    (`on_place`), and when a page run ahead is opened after the library was written, the
    figure `make()` draws now replaces the one the page came with.

    Parameters
    ----------
    library : the Library the figure shows.
    make : the figure as it should be now.
    trace : the figure's first trace type (how the browser finds it on the page).
    on_place : called with a clicked slice's id (sunburst only).
    """

    _esm = esm("chart.mjs")
    trace = traitlets.Unicode("sunburst").tag(sync=True)
    clicks = traitlets.Bool(False).tag(sync=True)

    def __init__(self, library: Library, make: Callable[[], Any], trace: str,
                 on_place: Callable[[str], None] | None = None):
        super().__init__(library, self.redraw)
        self.make, self.trace, self.clicks = make, trace, on_place is not None
        if on_place is not None:
            self.on_msg(lambda _, m, __: m.get("type") == "place" and on_place(str(m["id"])))

    def redraw(self) -> None:
        """Send the figure as it is now; the page draws it in place of the one it shows."""
        self.send({"type": "figure", "figure": figure_json(self.make())})


def place_sunburst(frame: pl.DataFrame) -> Any:
    """A plain plotly sunburst of `sunburst_frame` rows (country > region > city)."""
    import plotly.graph_objects as go

    return go.Figure(go.Sunburst(
        ids=frame["id"].to_list(), parents=frame["parent"].to_list(),
        labels=frame["label"].to_list(), values=frame["value"].to_list(),
        branchvalues="total", hovertemplate="%{label} · %{value}<extra></extra>"),
        layout=go.Layout(autosize=True, height=480, margin=dict(t=10, l=10, r=10, b=10)))


class PlaceSunburst(w.VBox):
    """The place hierarchy as a sunburst; a click on a slice (or a place chosen from the
    list, any level) opens that place's photos as a timeline with the viewer.

    The sunburst is a plain figure drawn by plotly's own extension (its code cached by the
    browser), not a `FigureWidget`, whose whole plotly.js (5 MB) would travel through the
    kernel's websocket each time the page opens; `ChartHook` brings its clicks back, and
    draws it again when a page run ahead opens after the library was written.

    Parameters
    ----------
    library : the Library to show.
    """

    def __init__(self, library: Library):
        self.lib = library
        self.clicks = ChartHook(library, self._refreshed, "sunburst", on_place=self._clicked)
        self.choice = w.Dropdown(description="place",
                                 layout=w.Layout(width="100%", max_width="420px"))
        self.choice.observe(lambda c: c["new"] and self.select(c["new"]), names="value")
        self.heading = w.HTML()
        self.gallery = w.Box()
        self.opened: PhotosApp | None = None
        self.photo_ids: list[int] = []
        super().__init__([self.clicks, self.choice, self.heading, self.gallery])
        self.add_class("photolab-places")
        self.refresh()

    def refresh(self) -> None:
        """Read the place hierarchy again (the list; the sunburst when next shown)."""
        self.frame = sunburst_frame(self.lib.place_hierarchy())
        self.figure = place_sunburst(self.frame)
        self.choice.options = [("all places", "")] + [
            (i.replace("/", " › "), i) for i in self.frame["id"]]
        if self.choice.value is None:
            self.choice.value = ""
        self.heading.value = ("No photo has a place yet (no GPS, or not ingested)."
                              if self.frame.height == 0 else "")

    def _refreshed(self) -> Any:
        self.refresh()
        return self.figure

    def _ipython_display_(self) -> None:
        """The sunburst, then the widget: a cell that shows it has these two outputs."""
        from IPython.display import display

        display(self.chart_bundle(), raw=True)
        display(super()._repr_mimebundle_(), raw=True)

    def chart_bundle(self) -> dict[str, Any]:
        """The sunburst as the output plotly's extension draws."""
        return figure_bundle(self.figure, f"sunburst of {self.frame.height} places")

    def _clicked(self, place_id: str) -> None:
        try:
            self.select(place_id)
        except PlaceNotFoundError as e:
            self.heading.value = html.escape(str(e))

    def select(self, place_id: str) -> list[int]:
        """Open the photos of a slice ("Italy", "Italy/Lazio", "Italy/Lazio/Rome")."""
        self.photo_ids = self.lib.place_photos(place_id)
        n = len(self.photo_ids)
        self.heading.value = (f"<b>{html.escape(place_id.replace('/', ' › '))}</b>: "
                              f"{n} photo{'' if n == 1 else 's'}")
        if self.opened is not None:
            close_tree(self.opened)
        self.opened = PhotosApp(self.lib, photo_ids=self.photo_ids)
        self.gallery.children = (self.opened,)
        return self.photo_ids


#: the map's colour where no tile has loaded, and its points' colour
MAP_GROUND = "#dfe7ec"
MAP_POINTS = "#d81b60"
#: plotly's map styles that are raster tiles, drawn as a layer of those tiles instead
RASTER_STYLES = {"open-street-map": "https://tile.openstreetmap.org/{z}/{x}/{y}.png"}
TILE_CREDITS = {RASTER_STYLES["open-street-map"]: "© OpenStreetMap contributors"}
#: photos this close (in degrees: about a kilometre) are one point on the map
MAP_SPOT_DEGREES = 0.01


class PlaceMap:
    """`place_map` shown as a plain figure (drawn by plotly's extension) with a `ChartHook`
    that draws it again when a page run ahead opens after the library was written.

    Parameters
    ----------
    library : the Library to show.
    tiles : as `place_map`.
    """

    def __init__(self, library: Library, tiles: str | None = None):
        self.figure = place_map(library, tiles)
        self.hook = ChartHook(library, lambda: place_map(library, tiles), "scattermap")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(figure_bundle(self.figure, "map of the photos' places"), raw=True)
        display(self.hook)


def place_map(library: Library, tiles: str | None = None) -> Any:
    """A plotly map of the photos with a place: one point per spot (positions within about
    a kilometre, `MAP_SPOT_DEGREES`, with their photo count), nearby points clustered, so a
    million photos draw as the few thousand places they were taken at.

    `tiles` (default: the `map_tiles` setting) is a plotly map style or a raster tile URL
    template; the points are a layer of their own, drawn whether or not tiles load.
    """
    import plotly.graph_objects as go

    label = pl.concat_str([pl.col("city").fill_null("?"), pl.col("country").fill_null("?")],
                          separator=", ")
    spot = [(pl.col(c) / MAP_SPOT_DEGREES).round(0) for c in ("lat", "lon")]
    p = (library.places().filter(pl.col("lat").is_not_null())
         .group_by(spot[0].alias("y"), spot[1].alias("x"))
         .agg(pl.col("lat", "lon").mean(), label.first().alias("label"),
              n=pl.len()).sort("n", descending=True))
    tiles = tiles or library.settings.map_tiles
    # a plain figure: pages draw it with plotly's own extension (cached by the browser),
    # not as a widget whose whole plotly.js travels through the kernel's websocket
    fig = go.Figure(go.Scattermap(
        lat=p["lat"].to_list(), lon=p["lon"].to_list(), mode="markers",
        text=p["label"].to_list(), customdata=p["n"].to_list(),
        hovertemplate="%{text}<extra>%{customdata} photos</extra>",
        cluster=dict(enabled=True, maxzoom=12, step=[20, 100], size=[18, 26, 34],
                     color=MAP_POINTS),
        marker=dict(size=10, color=MAP_POINTS)))
    tiles = RASTER_STYLES.get(tiles, tiles)
    layers: list[dict[str, Any]] = []
    if "{z}" in tiles:
        # a style of a plain ground, the tiles a layer under the points: plotly stops drawing
        # a map's points at the first tile that fails while the map is made, so no tile
        # belongs to the style itself (offline, the points still show on the ground)
        style: Any = dict(version=8, sources={}, layers=[
            {"id": "ground", "type": "background", "paint": {"background-color": MAP_GROUND}}])
        layers = [dict(sourcetype="raster", source=[tiles], below="traces",
                       sourceattribution=TILE_CREDITS.get(tiles, ""))]
    else:
        style = tiles
    center = dict(lat=float(p["lat"].mean() or 0), lon=float(p["lon"].mean() or 0))
    fig.update_layout(map=dict(style=style, layers=layers, center=center, zoom=1), height=500,
                      margin=dict(t=0, l=0, r=0, b=0))
    return fig
