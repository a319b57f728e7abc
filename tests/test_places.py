"""Places on the real corpus: offline reverse geocoding, GPS sanity, geopy against a local
stub server, corrections that survive recomputes, the sunburst and the map."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import numpy as np
import polars as pl
import pytest

from photolab import Library
from photolab.places.gazetteer import gazetteer
from photolab.widgets.places import PlaceSunburst, place_map, sunburst_frame

from .conftest import CORPUS, copy_files


@pytest.fixture(scope="module")
def places(corpus_lib: Library) -> pl.DataFrame:
    rel = pl.col("path").str.replace(f"^{CORPUS}/", "")
    return corpus_lib.places().join(corpus_lib.photos().select("photo_id", rel=rel),
                                    on="photo_id")


def place_of(places: pl.DataFrame, rel: str) -> dict:
    return places.filter(pl.col("rel") == rel).row(0, named=True)


@pytest.mark.parametrize(("rel", "country", "region", "city"), [
    ("exif/mde_Apple_iPhone_4.jpg", "IT", "Lazio", "Rome"),
    ("exif/mde_Panasonic_DMC-LX3_Lumix.jpg", "IT", "Lazio", "Rome"),
    ("exif/mde_Apple_iPhone_5.jpg", "US", "Washington", "Seattle"),
    ("exif/mde_FujiFilm_FinePixS2Pro.jpg", "FR", "Île-de-France", "Paris"),
    ("exif/mde_Samsung_SM-N900A_Galaxy_Note_3.jpg", "US", "Nevada", "Las Vegas"),
    ("exif/mde_Nexus_4.jpg", "GB", "England", "London"),
    ("exif/mde_Nokia_Lumia_800.jpg", "IE", "Leinster", "Dublin"),
    ("heic/ianare_IMG_5195.HEIC", "US", "Missouri", "Kansas City"),
    ("exif/mde_Apple_iPhone_6_plus.jpg", "GB", "Wales", "Cardiff"),
    ("exif/ianare_mobile_HMD_Nokia_8.3_5G.jpg", "FI", "Uusimaa", "Helsinki"),
    ("misc/mde_with-gps.mp4", "GB", "England", "London"),          # a video's GPS
    ("exif/mde_Nikon_D5000.jpg", "SK", "Košice Region", "Košice"),  # GPS only in XMP
])
def test_gps_photos_map_to_the_right_place(places: pl.DataFrame, rel: str, country: str,
                                           region: str, city: str) -> None:
    p = place_of(places, rel)
    assert (p["country_code"], p["region"], p["city"]) == (country, region, city), p
    assert p["source"] == "gazetteer" and p["reason"] is None
    assert 0 <= p["distance_km"] < 30 and p["locality"] and p["locality_km"] <= p["distance_km"]


def test_the_strip_is_in_las_vegas_and_its_locality_is_paradise(places: pl.DataFrame) -> None:
    p = place_of(places, "exif/mde_Samsung_SM-N900A_Galaxy_Note_3.jpg")
    assert p["locality"] == "Paradise" and p["subregion"] == "Clark County"
    assert p["country"] == "United States"


@pytest.mark.parametrize(("rel", "reason"), [
    ("exif/mde_Samsung_GT-I9000_Galaxy_S.jpg", "GPS (0, 0): the camera recorded no fix"),
    ("heic/pillowheif_spatial_photo.heic", "GPS (0, 0): the camera recorded no fix"),
    ("misc/pillow_exif_gps.jpg", "GPS out of range (4294967295.0, none)"),
    ("exif/immich_empty_gps.jpg", "GPS block without coordinates"),
    ("exif/ianare_Canon_40D.jpg", "GPS block without coordinates"),
    ("exif/mde_FLIR_iPhone_device.jpg",
     "GPS only in a maker-note block, not in the standard GPS tags"),
    ("faces/fr_obama/obama.jpg", "no GPS in the file"),
])
def test_bad_gps_gives_no_place_and_a_reason(places: pl.DataFrame, rel: str,
                                             reason: str) -> None:
    p = place_of(places, rel)
    assert p["reason"] == reason
    assert p["country"] is None and p["city"] is None and p["lat"] is None


def test_every_photo_has_a_place_or_a_reason(places: pl.DataFrame) -> None:
    assert places.filter(pl.col("country").is_null() & pl.col("reason").is_null()).height == 0
    assert places.filter(pl.col("country").is_not_null()).height >= 45


def test_one_query_equals_the_packages_own_lookup() -> None:
    import reverse_geocode

    g = gazetteer()
    rng = np.random.default_rng(0)
    pick = g.places.sample(300, seed=1)
    lat = pick["latitude"].to_numpy() + rng.normal(0, 0.05, 300)
    lon = pick["longitude"].to_numpy() + rng.normal(0, 0.05, 300)
    ours = g.lookup(lat, lon)
    theirs = reverse_geocode.search(list(zip(lat, lon, strict=True)))
    same_country = np.mean([o == t["country_code"] for o, t in
                            zip(ours["country_code"], theirs, strict=True)])
    same_place = np.mean([o == t["city"] for o, t in zip(ours["locality"], theirs, strict=True)])
    # the package measures distance in raw degrees; on the sphere a few nearest places differ
    assert same_country >= 0.97 and same_place >= 0.85, (same_country, same_place)


def test_corrections_survive_a_recompute(lib_copy: Library) -> None:
    lib = lib_copy
    rel = pl.col("path").str.replace(f"^{CORPUS}/", "")
    ids = lib.photos().with_columns(rel=rel).filter(
        pl.col("rel").str.starts_with("exif/ianare_gps_DSCN"))["photo_id"].to_list()
    assert len(ids) == 9
    lib.set_place(ids, city="Monte San Savino trip")
    lib.run_stage("places", ids, show_progress=False)  # forced recompute
    lib.ingest(show_progress=False)
    p = lib.places().filter(pl.col("photo_id").is_in(ids))
    assert (p["city"] == "Monte San Savino trip").all() and (p["source"] == "user").all()
    assert (p["region"] == "Tuscany").all()  # fields not corrected keep the computed value
    h = lib.place_hierarchy().filter(pl.col("city") == "Monte San Savino trip")
    assert h["n_photos"].to_list() == [9]
    d = lib.decisions("place")
    assert d.height == 9 and d["who"].is_not_null().all()
    lib.undo(int(d["decision_id"][0]))
    first = lib.places().filter(pl.col("photo_id") == d["photo_id"][0])
    assert first["city"][0] == "Arezzo" and first["source"][0] == "gazetteer"


class Nominatim(BaseHTTPRequestHandler):
    """Answers /reverse like nominatim.openstreetmap.org (format=json, addressdetails)."""

    requests: ClassVar[list[str]] = []
    fail = False

    def do_GET(self) -> None:
        q = parse_qs(urlparse(self.path).query)
        Nominatim.requests.append(self.path)
        if Nominatim.fail:
            self.send_response(503)
            self.end_headers()
            return
        lat, lon = float(q["lat"][0]), float(q["lon"][0])
        body = {"place_id": 1, "licence": "Data © OpenStreetMap contributors, ODbL 1.0",
                "osm_type": "relation", "osm_id": 41485, "lat": str(lat), "lon": str(lon),
                "display_name": "Roma, Roma Capitale, Lazio, Italia",
                "address": {"city": "Roma", "county": "Roma Capitale", "state": "Lazio",
                            "ISO3166-2-lvl4": "IT-62", "country": "Italia",
                            "country_code": "it"},
                "boundingbox": ["41.65", "42.14", "12.23", "12.85"]}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_online_geocoder_through_geopy_against_a_local_stub(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Nominatim)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    src = tmp_path / "p"
    copy_files(src, ["exif/mde_Apple_iPhone_4.jpg", "exif/mde_Panasonic_DMC-LX3_Lumix.jpg",
                     "faces/fr_obama/obama.jpg"])
    Nominatim.requests = []
    try:
        with Library(tmp_path / "lib") as lib:
            lib.settings.geocoder = "nominatim"
            lib.settings.geocoder_options = {"domain": f"127.0.0.1:{server.server_port}",
                                             "scheme": "http", "user_agent": "photolab-tests"}
            lib.settings.geocoder_min_delay_s = 0.0
            lib.ingest([src], show_progress=False, skip=["faces", "people"])
            p = lib.places().filter(pl.col("lat").is_not_null())
            assert p.height == 2 and len(Nominatim.requests) == 2
            assert all("/reverse?" in r and "format=json" in r for r in Nominatim.requests)
            assert set(p["city"]) == {"Roma"} and set(p["source"]) == {"nominatim"}
            assert set(p["country_code"]) == {"IT"} and set(p["region"]) == {"Lazio"}
            # asked once: a recompute answers from the catalog's cache
            lib.run_stage("places", p["photo_id"].to_list(), show_progress=False)
            assert len(Nominatim.requests) == 2
            # the provider failing keeps the offline place, and says so
            Nominatim.fail = True
            lib.catalog.conn.execute("DELETE FROM geocode_cache")
            lib.run_stage("places", p["photo_id"].to_list(), show_progress=False)
            q = lib.places().filter(pl.col("lat").is_not_null())
            assert set(q["city"]) == {"Rome"} and set(q["source"]) == {"gazetteer"}
            errors = lib.photos().filter(pl.col("error").is_not_null())["error"]
            assert errors.len() == 2 and errors.str.contains("nominatim gave no place").all()
    finally:
        Nominatim.fail = False
        server.shutdown()


def test_sunburst_data_matches_the_hierarchy(corpus_lib: Library) -> None:
    h = corpus_lib.place_hierarchy()
    s = sunburst_frame(h)
    assert s.filter(pl.col("parent") == "")["value"].sum() == h["n_photos"].sum()
    cities = s.filter(pl.col("id").str.count_matches("/") == 2)
    assert cities.height == h.height
    assert sorted(cities["value"]) == sorted(h["n_photos"])
    italy = s.filter(pl.col("id") == "Italy").row(0, named=True)
    assert italy["value"] == h.filter(pl.col("country") == "Italy")["n_photos"].sum()
    widget = PlaceSunburst(corpus_lib)
    fig = widget.figure.data[0]
    assert list(fig.ids) == s["id"].to_list() and list(fig.values) == s["value"].to_list()
    # drawn by plotly's extension (no FigureWidget: its 5 MB would travel with every page)
    shown = widget.chart_bundle()["application/vnd.plotly.v1+json"]
    assert shown["data"][0]["ids"] == s["id"].to_list()
    # a click on a slice opens that place's photos as a timeline
    widget.clicks._handle_custom_msg({"type": "place", "id": "Italy/Lazio/Rome"}, [])
    rome = corpus_lib.places().filter(pl.col("city") == "Rome")["photo_id"].sort().to_list()
    assert widget.photo_ids == rome and widget.gallery.children == (widget.opened,)
    assert sorted(t["id"] for t in widget.opened.timeline.load_page()) == rome
    widget.clicks._handle_custom_msg({"type": "place", "id": "Atlantis"}, [])
    assert "Atlantis" in widget.heading.value
    widget.clicks._handle_custom_msg({"type": "place", "id": "Italy/Lazio/Rome"}, [])
    assert "Rome" in widget.heading.value


def test_place_covers_are_each_places_best_photo_most_photographed_first(
        corpus_lib: Library) -> None:
    from photolab.errors import PlaceNotFoundError
    from photolab.events.best import scored
    from photolab.widgets import PlacesPage

    h = corpus_lib.place_hierarchy()
    covers = corpus_lib.place_covers()
    assert covers.height == h.height > 5
    assert covers["n_photos"].to_list() == sorted(h["n_photos"], reverse=True)
    best = corpus_lib.best_photos().with_columns(g=pl.lit(1))
    for c in covers.iter_rows(named=True):
        mine = corpus_lib.place_photos(c["place_id"])
        assert len(mine) == c["n_photos"] and c["cover_photo_id"] in mine
        # its best photo: none of the place's photos scores higher (favourites, people...)
        score = scored(best.filter(pl.col("photo_id").is_in(mine)), "g")
        assert score.filter(pl.col("photo_id") == c["cover_photo_id"])["score"].item() \
            == score["score"].max(), c
    # a favourite becomes its place's cover (the kept answer follows the decision)
    top = covers.row(0, named=True)
    other = next(p for p in corpus_lib.place_photos(top["place_id"])
                 if p != top["cover_photo_id"])
    [liked] = corpus_lib.favorite([other])
    assert corpus_lib.place_covers().row(0, named=True)["cover_photo_id"] == other
    corpus_lib.undo(liked)
    assert corpus_lib.place_covers()["cover_photo_id"].to_list() == \
        covers["cover_photo_id"].to_list()
    # any level of the hierarchy, as the sunburst's ids name it
    italy = h.filter(pl.col("country") == "Italy")
    assert corpus_lib.place_photos("Italy") == sorted(italy["photo_ids"].explode().to_list())
    lazio = italy.filter(pl.col("region") == "Lazio")["photo_ids"].explode().sort().to_list()
    assert corpus_lib.place_photos("Italy/Lazio") == lazio
    with pytest.raises(PlaceNotFoundError):
        corpus_lib.place_photos("Italy/Atlantis")
    # the places page: the most photographed as covers; one opens as its timeline
    page = PlacesPage(corpus_lib, top=3)
    items = page._items()
    assert [it["key"] for it in items] == covers["place_id"].head(3).to_list()
    assert all(it["kind"] == "place" and "photo" in it["subtitle"] for it in items)
    assert "pe-place" in page.early_html() and items[0]["title"] in page.early_html()
    page._open(items[0]["key"])
    assert page.opened is not None and page.children == (page.header, page.opened)
    shown = sorted(t["id"] for t in page.opened.timeline.load_page())
    assert shown == corpus_lib.place_photos(items[0]["key"])[:60]
    page.close()
    assert page.children == (page.covers,) and page.opened is None


def test_map_has_every_located_photo_and_any_tiles(corpus_lib: Library) -> None:
    from photolab.widgets.places import MAP_SPOT_DEGREES

    located = corpus_lib.places().filter(pl.col("lat").is_not_null())
    fig = place_map(corpus_lib, tiles="http://127.0.0.1:9/{z}/{x}/{y}.png")  # nothing there
    trace = fig.data[0]
    # one point per spot, and every located photo counted in one
    spots = located.select((pl.col("lat", "lon") / MAP_SPOT_DEGREES).round(0)).unique()
    assert len(trace.lat) == spots.height < located.height and trace.cluster.enabled
    assert sum(trace.customdata) == located.height
    # the tiles a layer under the points, the style a plain ground: no tile can stop the
    # points being drawn (plotly gives up on a map whose style's tiles fail to load)
    [tiles] = fig.layout.map.layers
    assert tiles.source == ("http://127.0.0.1:9/{z}/{x}/{y}.png",) and tiles.below == "traces"
    assert fig.layout.map.style["sources"] == {}
    assert corpus_lib.settings.map_tiles == "open-street-map"
    [osm] = place_map(corpus_lib).layout.map.layers
    assert osm.source == ("https://tile.openstreetmap.org/{z}/{x}/{y}.png",)
    assert place_map(corpus_lib, "carto-positron").layout.map.style == "carto-positron"


@pytest.mark.slow
def test_cli_prints_places(tmp_path: Path) -> None:
    import subprocess

    from .conftest import PHOTOLAB, env

    src = tmp_path / "p"
    copy_files(src, ["exif/mde_Apple_iPhone_4.jpg", "exif/mde_Samsung_GT-I9000_Galaxy_S.jpg"])
    lib = str(tmp_path / "lib")
    r = subprocess.run([*PHOTOLAB, "ingest", str(src), "--library", lib, "--no-faces"],
                       env=env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert ("places: 1 photos in 1 countries, 1 cities; no place: "
            "GPS (0, 0): the camera recorded no fix 1") in r.stdout
    r = subprocess.run([*PHOTOLAB, "places", "--library", lib], env=env(),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "Lazio" in r.stdout and "Rome" in r.stdout
