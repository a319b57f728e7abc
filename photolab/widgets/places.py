"""Places widgets: `PlaceSunburst` (country > region > city; a click filters the gallery)
and `place_map` (photo locations, nearby points clustered; renders with no tile server)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import polars as pl

from ..errors import PhotolabError, PlaceNotFoundError
from ._children import replace_children

if TYPE_CHECKING:
    from ..library import Library

#: thumbnails the gallery shows at once
PAGE = 48


def sunburst_frame(hierarchy: pl.DataFrame) -> pl.DataFrame:
    """Plotly sunburst rows (`id`, `parent`, `label`, `value`, `photo_ids`) from
    `Library.place_hierarchy()`: one row per country, region and city."""
    h = hierarchy.with_columns(
        c=pl.col("country"), r=pl.col("country") + "/" + pl.col("region"),
        t=pl.col("country") + "/" + pl.col("region") + "/" + pl.col("city"))
    ids = pl.col("photo_ids").list.explode(keep_nulls=False, empty_as_null=False)
    levels = [
        h.group_by("c").agg(value=pl.col("n_photos").sum(), photo_ids=ids)
        .select(id="c", parent=pl.lit(""), label="c", value="value", photo_ids="photo_ids"),
        h.group_by("r", "c", "region").agg(value=pl.col("n_photos").sum(), photo_ids=ids)
        .select(id="r", parent="c", label="region", value="value", photo_ids="photo_ids"),
        h.select(id="t", parent="r", label="city", value="n_photos", photo_ids="photo_ids"),
    ]
    return pl.concat([lv.with_columns(pl.col("value").cast(pl.Int64)) for lv in levels]
                     ).sort("id")


class PlaceSunburst(w.VBox):
    """The place hierarchy as a sunburst; clicking a slice shows that place's photos.

    Parameters
    ----------
    library : the Library to show.
    """

    def __init__(self, library: Library):
        import plotly.graph_objects as go

        self.lib = library
        self.frame = sunburst_frame(library.place_hierarchy())
        self.figure = go.FigureWidget(go.Sunburst(
            ids=self.frame["id"].to_list(), parents=self.frame["parent"].to_list(),
            labels=self.frame["label"].to_list(), values=self.frame["value"].to_list(),
            branchvalues="total", hovertemplate="%{label} · %{value}<extra></extra>"),
            layout=go.Layout(width=520, height=520, margin=dict(t=10, l=10, r=10, b=10)))
        # plotly reports clicks on cities (leaves); a click on a country or region zooms in,
        # and the place list below reaches every level
        self.figure.data[0].on_click(self._clicked)
        self.choice = w.Dropdown(
            options=[("all places", "")] + [(i.replace("/", " › "), i) for i in self.frame["id"]],
            description="place", layout=w.Layout(width="420px"))
        self.choice.observe(lambda c: c["new"] and self.select(c["new"]), names="value")
        self.heading = w.HTML()
        self.gallery = w.Box(layout=w.Layout(flex_flow="row wrap"))
        self.photo_ids: list[int] = []
        super().__init__([self.figure, self.choice, self.heading, self.gallery])
        if self.frame.height == 0:
            self.heading.value = "No photo has a place yet (no GPS, or not ingested)."

    def _clicked(self, trace: Any, points: Any, _state: Any) -> None:
        if points.point_inds:
            self.select(str(trace.ids[points.point_inds[0]]))

    def select(self, place_id: str) -> list[int]:
        """Show the photos of a slice ("Italy", "Italy/Lazio", "Italy/Lazio/Rome")."""
        row = self.frame.filter(pl.col("id") == place_id)
        if row.height == 0:
            raise PlaceNotFoundError(f"no place {place_id!r}")
        self.photo_ids = sorted(row["photo_ids"][0].to_list())
        n = len(self.photo_ids)
        self.heading.value = (f"<b>{html.escape(place_id.replace('/', ' › '))}</b>: "
                              f"{n} photo{'' if n == 1 else 's'}")
        cards = []
        for pid in self.photo_ids[:PAGE]:
            try:
                data = self.lib.thumbnail(pid, "tiny").read_bytes()
            except PhotolabError:
                continue
            cards.append(w.Image(value=data, format="webp",
                                 layout=w.Layout(max_width="160px", margin="2px")))
        replace_children(self.gallery, cards)
        return self.photo_ids


#: the map's colour where no tile has loaded, and its points' colour
MAP_GROUND = "#dfe7ec"
MAP_POINTS = "#d81b60"
#: photos this close (in degrees: about a kilometre) are one point on the map
MAP_SPOT_DEGREES = 0.01


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
    if "{z}" in tiles:  # under the tiles a plain ground: the points show where none load
        style: Any = dict(version=8, sources={"tiles": {"type": "raster", "tiles": [tiles],
                                                         "tileSize": 256}},
                          layers=[{"id": "ground", "type": "background",
                                   "paint": {"background-color": MAP_GROUND}},
                                  {"id": "tiles", "type": "raster", "source": "tiles"}])
    else:
        style = tiles
    center = dict(lat=float(p["lat"].mean() or 0), lon=float(p["lon"].mean() or 0))
    fig.update_layout(map=dict(style=style, center=center, zoom=1), height=500,
                      margin=dict(t=0, l=0, r=0, b=0))
    return fig
