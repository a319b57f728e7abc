"""How reading a library grows with its size: every public read verb, the dashboards' first
pages, a rescan of an unchanged tree, the catalog's size, and each verb's peak memory, at
each size, for this checkout and for a baseline commit measured in the same run.

    .venv/bin/python benchmarks/catalog.py [--n 10000 100000 1000000] [--baseline REF]

A synthetic library of N photos is built once per size through photolab's own write path
(the scan registers N small files; the catalog's `write_stage` stores metadata, dates,
places, hashes with 5% of the photos in duplicate pairs, about 1.5 faces per photo with
128-d encodings grouped by identity, their clusters; one person decision per 100 faces
through `assign_faces`; 1% of the photos tagged, rated, favourited) and kept under
benchmarks/out/catalog-N (delete it to rebuild). Each verb runs in a fresh process (so a
cold read, and its own peak memory): first with photolab from a `git worktree` of
`--baseline` (default: the last commit before the catalog's read path changed), then with
this checkout's. Figures are seconds and MB; "x" is baseline / now, in the same mode
(`--baseline-mode kept --modes kept`: both read what their first reads kept, as a kernel
does after an ingest). "after 2 namings" times the second naming's read in one process,
as a people page's kernel feels it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"
#: the commit before issue 18's read path (photos() replaying decisions through faces())
DEFAULT_BASELINE = "c1ee05b"

CITIES = [("IT", "Italy", "Lazio", "Rome", 41.9, 12.5), ("FR", "France", "Ile-de-France",
          "Paris", 48.86, 2.35), ("US", "United States", "Washington", "Seattle", 47.6, -122.3),
          ("GB", "United Kingdom", "England", "London", 51.5, -0.12),
          ("DE", "Germany", "Berlin", "Berlin", 52.5, 13.4), ("ES", "Spain", "Catalonia",
          "Barcelona", 41.4, 2.17), ("JP", "Japan", "Tokyo", "Tokyo", 35.7, 139.7),
          ("IT", "Italy", "Tuscany", "Florence", 43.77, 11.25)]
CAMERAS = [("Canon", "EOS 5D"), ("Apple", "iPhone 12"), ("Google", "Pixel 7"),
           ("NIKON", "D750"), ("SONY", "ILCE-7M3")]


# -- building ------------------------------------------------------------------------------

def make_files(tree: Path, n: int) -> None:
    """N small files with distinct bytes (the scan hashes them; nothing decodes them)."""
    for i in range(n):
        d = tree / f"{i // 1000:04d}"
        if i % 1000 == 0:
            d.mkdir(parents=True, exist_ok=True)
        (d / f"IMG_{i:07d}.jpg").write_bytes(b"\xff\xd8photolab %d" % i)


def build(n: int, root: Path, tree: Path) -> None:
    from photolab import Library
    from photolab.faces import store

    rng = np.random.default_rng(n)
    make_files(tree, n)
    lib = Library(root / "lib")
    t = time.perf_counter()
    lib.ingest([tree], only=["scan"], show_progress=False)
    print(f"  scan registered {n} files in {time.perf_counter() - t:.0f} s", flush=True)
    files = lib.catalog.files().sort("photo_id")
    ids = files["photo_id"].to_numpy()
    hashes = dict(zip(files["photo_id"], files["content_hash"], strict=True))
    gps = rng.random(n) < 0.6
    city = rng.integers(0, len(CITIES), n)
    cam = rng.integers(0, len(CAMERAS), n)
    when = (np.datetime64("2000-01-01T00:00:00") + rng.integers(0, 26 * 365 * 86400, n)
            .astype("timedelta64[s]"))
    lat = np.where(gps, np.array([c[4] for c in CITIES])[city] + rng.normal(0, .05, n), np.nan)
    lon = np.where(gps, np.array([c[5] for c in CITIES])[city] + rng.normal(0, .05, n), np.nan)
    none = pl.lit(None, pl.String)
    frames = {
        "metadata": pl.DataFrame({
            "photo_id": ids, "mime": "image/jpeg", "width": 4000, "height": 3000,
            "orientation": 1, "duration_s": None, "lat": lat, "lon": lon,
            "camera_make": np.array([c[0] for c in CAMERAS])[cam],
            "camera_model": np.array([c[1] for c in CAMERAS])[cam], "tags": "{}",
        }).with_columns(pl.col("lat", "lon").fill_nan(None), keywords=none, rating=None,
                        title=none, description=none, file_people=none, favorite=None,
                        albums=none),
        "dates": pl.DataFrame({"photo_id": ids, "taken_at": when.astype(str)}).with_columns(
            taken_at_utc=None, tz_offset=None, taken_at_source=pl.lit("exif")),
        "thumbnails": pl.DataFrame({"photo_id": ids, "source": "libvips"}),
        "motion": pl.DataFrame({"photo_id": ids, "has_motion_video": 0}).with_columns(
            motion_offset=None, motion_length=None, motion_method=none),
        "previews": pl.DataFrame({"photo_id": ids}).with_columns(playable=none, mp4=none,
                                                                 webp=none),
    }
    # duplicates: 5% of the photos are the second copy of another photo
    phash = rng.integers(-2**62, 2**62, n)
    pixel = np.array([f"{i:032x}" for i in range(n)], dtype=object)
    copies = rng.choice(n - 1, n // 20, replace=False)
    phash[copies + 1] = phash[copies] ^ 1
    pixel[copies + 1] = pixel[copies]
    frames["hashes"] = pl.DataFrame({"photo_id": ids, "phash": phash,
                                     "phash_mirror": phash ^ 2, "pixel_hash": pixel})
    c = np.array(CITIES, dtype=object)[city]
    frames["places"] = pl.DataFrame({
        "photo_id": ids, "lat": lat, "lon": lon, "country_code": c[:, 0], "country": c[:, 1],
        "region": c[:, 2], "subregion": None, "city": c[:, 3], "distance_km": 1.0,
        "locality": c[:, 3], "locality_km": 1.0, "source": "gazetteer", "reason": None,
    }).with_columns(pl.col("lat", "lon").fill_nan(None)).filter(pl.Series(gps))
    # faces: 0-3 per photo (mean 1.5), encodings scattered around one centre per identity
    per = rng.integers(0, 4, n)
    owner = np.repeat(ids, per)
    identity = rng.integers(0, max(1, len(owner) // 40), len(owner))
    centres = rng.normal(0, 1, (identity.max() + 1, 128)).astype(np.float32) * 0.2
    enc = centres[identity] + rng.normal(0, 0.02, (len(owner), 128)).astype(np.float32)
    faces = pl.DataFrame({
        "photo_id": owner, "top": 100, "right": 300, "bottom": 300, "left": 100,
        "image_width": 4000, "image_height": 3000,
        "encoding": [e.tobytes() for e in enc], "source": "detected", "file_name": None,
        "side_px": 120, "sharpness": 900.0, "detector_score": 1.0,
    }, schema_overrides={"file_name": pl.String})
    # a photo with no face has a null list: the writer keeps what was there (nothing)
    frames["faces"] = pl.DataFrame({"photo_id": ids}).join(
        faces.group_by("photo_id").agg(faces=pl.struct(pl.all().exclude("photo_id"))),
        on="photo_id", how="left")
    versions = {s: lib.stage(s).version for s in frames}
    for name, frame in frames.items():
        t = time.perf_counter()
        frame = frame.join(pl.DataFrame({"photo_id": ids}), on="photo_id", how="right") \
            if name == "places" else frame
        for batch in frame.with_columns(error=none).iter_slices(20_000):
            lib.catalog.write_stage(name, versions[name], batch, hashes)
        print(f"  {name}: {time.perf_counter() - t:.0f} s", flush=True)
    # clusters: one per identity with two faces or more
    got = lib.catalog.frame("SELECT face_id FROM faces ORDER BY face_id")
    fc = pl.DataFrame({"face_id": got["face_id"], "cluster_id": identity,
                       "probability": 1.0})
    big = fc.group_by("cluster_id").len().filter(pl.col("len") > 1)["cluster_id"]
    store.write_clusters(lib.catalog, fc.with_columns(cluster_id=pl.when(
        pl.col("cluster_id").is_in(big.implode())).then("cluster_id")))
    # one person decision per 100 faces: half of them name a person, half assign faces
    t = time.perf_counter()
    for k in range(max(1, len(owner) // 200)):
        mine = fc.filter(pl.col("cluster_id") == k)["face_id"].to_list()
        store.assign_faces(lib.catalog, mine[:5] or [int(fc["face_id"][k])],
                           f"Person {k}", "bench")
    print(f"  people decisions: {time.perf_counter() - t:.0f} s", flush=True)
    pick = rng.choice(ids, max(1, n // 100), replace=False).tolist()
    lib.tag(pick, "holiday")
    lib.rate(pick[: len(pick) // 2], 4)
    lib.favorite(pick[len(pick) // 2:])
    lib.close()
    (root / "built").write_text(str(n))


def prepare(root: Path) -> None:
    """What ingest's people stage leaves behind: each face's nearest named person, kept
    (`photolab.faces.nearest`); for libraries built before it existed."""
    from photolab import Library

    with Library(root / "lib") as lib:
        if not hasattr(lib, "nearest_people"):
            return
        kept = lib.catalog.frame("SELECT count(*) AS n FROM person_centroids")["n"][0]
        if kept == 0:
            t = time.perf_counter()
            lib.nearest_people()
            print(f"  each face's nearest person measured once (ingest's people stage does "
                  f"this): {time.perf_counter() - t:.0f} s", flush=True)


# -- measuring -----------------------------------------------------------------------------

def gallery_next(lib):  # the second page: keyset where the library has it
    first = lib.recent(24)
    try:
        return lib.recent(24, after_photo=int(first["photo_id"][-1]))
    except TypeError:  # the baseline had no paging: the whole list, sliced
        return lib.recent().slice(24, 24)


VERBS = {
    "photos": lambda lib: lib.photos(),
    "faces": lambda lib: lib.faces(),
    "people": lambda lib: lib.people(),
    "duplicates": lambda lib: lib.duplicates(),
    "places": lambda lib: lib.places(),
    "place_hierarchy": lambda lib: lib.place_hierarchy(),
    "place_covers": lambda lib: lib.place_covers(),
    "decisions": lambda lib: lib.decisions(),
    "filters (no text)": lambda lib: lib.recent(24, person="Person 1", place="Italy",
                                                  after="2010-01-01"),
    "gallery page 1": lambda lib: lib.recent(24),
    "gallery page 2": gallery_next,
    "events": lambda lib: lib.events(),
    "albums": lambda lib: lib.albums(),
    "on_this_day": lambda lib: lib.on_this_day("2024-07-04", window_days=3),
    "photos after 1 decision": None,  # see child()
    "people after 1 rating": None,
    "duplicates after 1 rating": None,
    "faces after 1 naming": None,
    "people after 1 naming": None,
    "people after 2 namings": None,  # the second in one process: as a people page's kernel
    "rescan": None,
}


#: how a verb finds its answer (this checkout; photolab.materialised)
MODES = {
    "computed": "computed from the catalog's tables (nothing kept)",
    "first": "computed and kept (the first read after a change)",
    "kept": "read from what the first read kept, in another process",
}


def child(verb: str, root: Path, mode: str = "computed", seed: int = 0) -> None:
    """Run one verb in this process and print seconds and peak memory as JSON."""
    from photolab import Library

    lib = Library(root / "lib")
    kept = getattr(lib, "materialised", None)
    if kept is not None:
        kept.enabled = mode != "computed"
        kept.disk_min_seconds = 0.0
        if mode == "first":
            kept.clear()
    # as in a kernel that has been open a moment: the columnar helper is up (about 0.5 s)
    ready = getattr(lib.catalog, "columnar_ready", lambda wait_s: False)(10.0)
    before = peak_mb()
    if verb == "rescan":
        t = time.perf_counter()
        report = lib.ingest([root / "tree"], show_progress=False)
        secs = time.perf_counter() - t
        done = {k: v for k, v in report.counts.items() if k.endswith("_done") and v}
        assert report.counts["unchanged"] == report.counts["files"], report.counts
        extra = {"restaged": done}
    elif "naming" in verb:  # as a people page: a named person's centroid moves
        named = lib.faces(encodings=False).filter(pl.col("assigned_by") == "user")
        lib.people()
        if hasattr(lib, "face_encodings"):  # kept by the ingest that kept the first reads
            lib.face_encodings()
        read = lib.people if verb.startswith("people") else lambda: lib.faces(encodings=False)
        # the newest faces nobody named yet, to the same people in the baseline's run and
        # this one (`seed`): each side's naming moves the same centroids
        free = lib.catalog.frame(
            "SELECT face_id FROM faces WHERE face_id NOT IN (SELECT j.value FROM decisions d, "
            "json_each(json_extract(d.value, '$.faces')) j WHERE d.kind = 'face_person') "
            "ORDER BY face_id DESC LIMIT 2")["face_id"].to_list()
        people = named["person_id"].unique().sort()
        rounds = 2 if "2 namings" in verb else 1
        for r in range(rounds):
            if r:  # the first naming read, and its answers written, as a minute later
                read()
                getattr(lib.materialised, "flush", lambda: None)()
            lib.move_faces([free[r]], int(people[(seed + r * 7919) % people.len()]))
        t = time.perf_counter()
        read()
        secs, extra = time.perf_counter() - t, {}
    elif verb.endswith("after 1 rating"):  # a rating keeps what does not read ratings
        read = lib.people if verb.startswith("people") else lib.duplicates
        read()
        lib.rate([int(lib.catalog.frame("SELECT min(photo_id) FROM photos").item())],
                 int(time.time()) % 5)
        t = time.perf_counter()
        read()
        secs, extra = time.perf_counter() - t, {}
    elif verb == "photos after 1 decision":
        lib.photos()
        lib.rate([int(lib.catalog.frame("SELECT min(photo_id) FROM photos").item())],
                 int(time.time()) % 5)
        t = time.perf_counter()
        lib.photos()
        secs, extra = time.perf_counter() - t, {}
    else:
        t = time.perf_counter()
        out = VERBS[verb](lib)
        secs, extra = time.perf_counter() - t, {"rows": getattr(out, "height", None)}
    peak = peak_mb()
    print(json.dumps({"s": secs, "peak_mb": peak, "verb_mb": peak - before,
                      "columnar": ready, **extra}))


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not carried over from
    the parent that started it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_child(src: Path, verb: str, root: Path, timeout: float, mode: str = "computed",
              seed: int = 0) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    try:
        p = subprocess.run([sys.executable, __file__, "--child", verb, str(root), mode,
                            str(seed)],
                           env=env,
                           capture_output=True, text=True, timeout=timeout, cwd=src)
    except subprocess.TimeoutExpired:
        return {"s": float("inf"), "peak_mb": float("nan"), "note": f">{timeout:.0f} s"}
    if p.returncode:
        return {"s": float("nan"), "peak_mb": float("nan"),
                "note": (p.stderr.strip().splitlines() or ["failed"])[-1][:60]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def worktree(ref: str) -> Path:
    dest = OUT / f"baseline-{ref}"
    if not dest.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(dest), ref], cwd=REPO,
                       check=True, capture_output=True)
    return dest


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--baseline", default=DEFAULT_BASELINE,
                    help="git ref to compare with ('' for none)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per verb")
    ap.add_argument("--baseline-mode", default="computed", choices=list(MODES),
                    help="how the baseline finds its answers (default: computed)")
    ap.add_argument("--verbs", nargs="*", default=list(VERBS))
    ap.add_argument("--modes", nargs="*", default=list(MODES), choices=list(MODES))
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child[0], Path(args.child[1]), args.child[2], int(args.child[3]))
    sources = {"now": REPO}
    if args.baseline:
        sources = {"baseline": worktree(args.baseline), "now": REPO}
    print(f"machine: {os.cpu_count()} cores; baseline {args.baseline or '-'}; now "
          + subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                           capture_output=True, text=True).stdout.strip() + " + work tree")
    for n in args.n:
        root = OUT / f"catalog-{n}"
        if not (root / "built").exists():
            print(f"building a library of {n:,} photos in {root} ...", flush=True)
            import shutil

            shutil.rmtree(root, ignore_errors=True)
            t = time.perf_counter()
            build(n, root, root / "tree")
            print(f"  built in {time.perf_counter() - t:.0f} s", flush=True)
        prepare(root)
        db = root / "lib" / "catalog.sqlite"
        print(f"\n== {n:,} photos: catalog {db.stat().st_size / 1e6:.0f} MB, "
              f"{db.stat().st_size / n / 1024:.2f} KB per photo")
        runs = [(k, src, args.baseline_mode) for k, src in sources.items() if k != "now"] + [
            ("now" if m == "computed" else m, REPO, m) for m in args.modes]
        print("; ".join(f"{m}: {MODES[m]}" for m in args.modes))
        print(f"{'verb':<24}" + "".join(f"{k + ' s':>12}{k + ' MB':>10}" for k, _, _ in runs)
              + f"{'x':>7}")
        for verb in args.verbs:
            seed = int(time.time())  # the same people named on each side
            got = {k: run_child(src, verb, root, args.timeout, m, seed) for k, src, m in runs}
            line = f"{verb:<24}"
            for g in got.values():
                s = g.get("note") or f"{g['s']:.3f}"
                line += f"{s:>12}{g['peak_mb']:>10.0f}"
            same = "now" if args.baseline_mode == "computed" else args.baseline_mode
            if "baseline" in got and same in got and got[same]["s"] > 0:  # in the same mode
                line += f"{got['baseline']['s'] / got[same]['s']:>6.1f}x"
            if "kept" in got and "now" in got and got["kept"]["s"] > 0:
                line += f"  computed/kept {got['now']['s'] / got['kept']['s']:.1f}x"
            extra = next(iter(got.values())).get("restaged")
            print(line + (f"  restaged {extra}" if extra else ""), flush=True)


if __name__ == "__main__":
    main()
