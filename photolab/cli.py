"""The `photolab` command: thin wrappers over `Library` verbs."""

from __future__ import annotations

import argparse
import errno
import os
import sys
from pathlib import Path

import polars as pl

from . import cli_family as family
from .errors import LibraryLockedError, PhotolabError
from .library import Library
from .samples import default_roots
from .shipped import folder
from .stages import FACES, PEOPLE, STAGE_ORDER
from .summary import summarize

#: exit codes: done; the run failed (or crashed: Python's own 1); a usage error (a bad argument,
#: an unknown id, a read-only library); the library is locked by another writer
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3


def _library_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--library", "-l", default=os.environ.get("PHOTOLAB_LIBRARY", "library"),
                   help="library folder (default: $PHOTOLAB_LIBRARY or ./library)")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="photolab", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="scan folders and run every stale stage")
    p.add_argument("roots", nargs="*", help="folders to scan (default: the library's sources, "
                   "else ../shared/corpus, else sample photos)")
    _library_arg(p)
    p.add_argument("--skip", action="append", default=[], choices=STAGE_ORDER)
    p.add_argument("--only", action="append", choices=STAGE_ORDER)
    p.add_argument("--no-faces", action="store_true",
                   help="skip face detection and clustering (same as --skip faces --skip people)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress, no summary")
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="run the stages here (default) or on Ray (pip install photolab[ray])")
    p.add_argument("--ray-address", help="the Ray cluster: auto or HOST:PORT (default: start "
                   "Ray on this machine)")

    p = sub.add_parser("batch", help="ingest headless for cron, keeping the executed "
                       "01_ingest notebook as the report")
    p.add_argument("roots", nargs="*", help="folders to scan (default: the library's sources)")
    _library_arg(p)
    p.add_argument("--skip", action="append", default=[], choices=STAGE_ORDER)
    p.add_argument("--reports", help="folder for the reports (default: LIBRARY/reports)")

    p = sub.add_parser("notebooks", help="copy the curator's notebooks into a folder")
    p.add_argument("folder", nargs="?", default="photolab-notebooks")
    p.add_argument("--force", action="store_true", help="overwrite notebooks already there")

    p = sub.add_parser("photos", help="write the photos frame")
    _library_arg(p)
    p.add_argument("--format", "-f", choices=["csv", "parquet", "json"], default="csv")
    p.add_argument("--output", "-o", help="file to write (default: standard output)")
    p.add_argument("--all", action="store_true", help="include missing files")
    p.add_argument("--errors", action="store_true", help="only photos with an error")

    for name, text in (("summary", "print what the library holds"),
                       ("jobs", "print the jobs table")):
        _library_arg(sub.add_parser(name, help=text))

    p = sub.add_parser("dupes", help="print groups of duplicate photos")
    _library_arg(p)
    p.add_argument("--threshold", "-t", type=int, help="pHash Hamming radius "
                   "(default: the library's dupe_threshold)")
    p.add_argument("--format", "-f", choices=["table", "csv", "json"], default="table")

    p = sub.add_parser("serve", help="serve the dashboards with Voilà (token auth)")
    _library_arg(p)
    p.add_argument("--port", type=int, default=8866)
    p.add_argument("--ip", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--token", default=None,
                   help="the token visitors need (default: a new random one, printed)")
    p.add_argument("--read-only", action="store_true",
                   help="guests' mode: the dashboards refuse every change")
    p.add_argument("--max-kernels", type=int, default=8,
                   help="the most pages open at once (each runs a kernel; default 8)")
    p.add_argument("--voila-arg", action="append", default=[], metavar="OPTION",
                   help="one more Voilà option, e.g. "
                        "--voila-arg=--CappedKernelManager.reclaim_after_s=60 (repeat)")

    p = sub.add_parser("lab", help="open JupyterLab on the curator's notebooks for a library")
    _library_arg(p)
    p.add_argument("--folder", help="where the notebooks are kept (default: LIBRARY/notebooks; "
                   "photolab's notebooks are copied there, a curator's edits are kept)")
    p.add_argument("--port", type=int, default=8888)
    p.add_argument("--ip", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--token", default=None,
                   help="the token the browser needs (default: a new random one, printed)")

    p = sub.add_parser("places", help="print country > region > city with photo counts")
    _library_arg(p)

    p = sub.add_parser("people", help="print the people named so far")
    _library_arg(p)

    p = sub.add_parser("cluster", help="recluster the faces (names people gave are kept)")
    _library_arg(p)
    p.add_argument("--min-cluster-size", type=int)
    p.add_argument("--min-samples", type=int)
    p.add_argument("--epsilon", type=float, help="cluster_selection_epsilon (HDBSCAN backends)")
    p.add_argument("--radius", type=float,
                   help="attachment radius: a face joins a person only through a face of "
                        "another photo this close (default 0.5)")
    p.add_argument("--backend", choices=["auto", "radius", "exact", "sklearn", "hdbscan", "knn"])

    p = sub.add_parser("search", help="find photos by a description, or like a photo")
    _library_arg(p)
    p.add_argument("text", nargs="*", help="what to look for, e.g. \"a dog on the beach\"")
    p.add_argument("--similar", type=int, metavar="PHOTO_ID", help="photos that look like this")
    p.add_argument("-k", type=int, default=20, help="how many (default 20)")
    p.add_argument("--after", help="taken on or after this date (YYYY-MM-DD)")
    p.add_argument("--before", help="taken on or before this date")
    p.add_argument("--person", action="append", help="a named person in the photo (repeat: all)")
    p.add_argument("--place", help="a country, region or city")
    p.add_argument("--camera", help="part of the camera make or model")
    p.add_argument("--tag", action="append", help="a scene tag (repeat: all)")
    p.add_argument("--captions", action="store_true",
                   help="match the words in the photos' captions instead of the pictures")
    p.add_argument("--format", "-f", choices=["table", "csv", "json"], default="table")

    p = sub.add_parser("write-back", help="write keywords, ratings, people, places, titles "
                       "and dates to XMP sidecars")
    _library_arg(p)
    p.add_argument("--dry-run", action="store_true", help="list what would be written")
    p.add_argument("--inplace", action="store_true",
                   help="write into the files themselves (a backup is kept in the library)")
    p.add_argument("--field", action="append", help="only these fields (repeat)")

    family.add_commands(sub, _library_arg)

    p = sub.add_parser("motion", help="extract the video of a motion photo")
    _library_arg(p)
    p.add_argument("photo_id", type=int)
    return ap


def _write(frame: pl.DataFrame, fmt: str, output: str | None) -> None:
    if fmt == "parquet" and output is None:
        raise PhotolabError("parquet needs --output FILE")
    target = output or sys.stdout
    if fmt == "csv":  # CSV has no lists: keywords, people... as "a; b"
        frame.with_columns(pl.col(pl.List(pl.String)).list.join("; ")).write_csv(
            target)  # type: ignore[arg-type]
    elif fmt == "json":
        text = frame.write_json()
        if output:
            Path(output).write_text(text)
        else:
            sys.stdout.write(text + "\n")
    else:
        frame.write_parquet(output)  # type: ignore[arg-type]


def _summary(lib: Library) -> str:
    return summarize(lib.photos(), lib.duplicates(), lib.faces(encodings=False), lib.places(),
                     scene_tags=lib.scene_tags(), n_embedded=lib.embeddings().height,
                     n_captions=lib.captions().height, events=lib.events())


def serve(library: str, port: int, ip: str, token: str | None, read_only: bool,
          max_kernels: int, voila_args: list[str]) -> int:
    """Become Voilà serving the dashboards folder for one library (signals reach it)."""
    import secrets

    from .server import SERVED_ENV
    from .server.members import NO_MEMBERS_ENV
    from .server.voila import PREHEATED, jupyter_path, voila_command, voila_config_dir

    root = Path(library).expanduser().resolve()
    if not (root / "catalog.sqlite").exists():
        print(f"photolab: error: no library at {root} (run photolab ingest first)",
              file=sys.stderr)
        return EXIT_USAGE
    token = token or secrets.token_urlsafe(24)
    with Library(root, read_only=read_only) as lib:  # (read/write: brought up to date)
        members = lib.members()
        shared = int(lib.shares()["active"].sum())
    # no members, no shared albums: the first pages' kernels run ahead (Voilà cannot also
    # act for whoever asks)
    preheat = (members.height == 0 and shared == 0
               and os.environ.get("PHOTOLAB_PREHEAT", "1") != "0")
    env = {**os.environ, "PHOTOLAB_LIBRARY": str(root),
           "PHOTOLAB_READONLY": "1" if read_only else "",
           NO_MEMBERS_ENV: "1" if preheat else "", SERVED_ENV: "1",
           "JUPYTER_PATH": jupyter_path(dict(os.environ))}
    cmd = voila_command(folder("dashboards"), port, ip, token, max_kernels,
                        voila_config_dir(preheat)) + voila_args
    mode = "read-only" if read_only else "read/write"
    if members.height:
        print(f"photolab: {members.height} members can come in through their own links "
              "(photolab members list)", file=sys.stderr)
    if shared:
        print(f"photolab: {shared} shared albums can be opened through their links "
              "(photolab share --list)", file=sys.stderr)
    if preheat:
        pages = ", ".join(name.removesuffix(".ipynb") for name in PREHEATED)
        print(f"photolab: the {pages} pages are run ahead (no members: a member "
              "added, or an album shared, now comes in once photolab serve is started again)",
              file=sys.stderr)
    print(f"photolab: serving {root} ({mode}) at "
          f"http://{ip}:{port}/voila/render/home.ipynb?token={token} (every page: "
          f"http://{ip}:{port}/?token={token})", file=sys.stderr, flush=True)
    os.execvpe(cmd[0], cmd, env)


def lab(library: str, notebooks: str | None, port: int, ip: str, token: str | None) -> int:
    """Become JupyterLab on a folder of the curator's notebooks, the library preset."""
    import secrets

    from .batch import copy_notebooks
    from .server.lab import lab_command

    root = Path(library).expanduser().resolve()
    if not (root / "catalog.sqlite").exists():
        print(f"photolab: error: no library at {root} (run photolab ingest first)",
              file=sys.stderr)
        return EXIT_USAGE
    where = Path(notebooks).expanduser().resolve() if notebooks else root / "notebooks"
    copy_notebooks(where)
    token = token or secrets.token_urlsafe(24)
    print(f"photolab: JupyterLab for {root} at http://{ip}:{port}/lab?token={token}",
          file=sys.stderr, flush=True)
    cmd = lab_command(where, port, ip, token)
    os.execvpe(cmd[0], cmd, {**os.environ, "PHOTOLAB_LIBRARY": str(root)})


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "lab":
        return lab(args.library, args.folder, args.port, args.ip, args.token)
    if args.command == "serve":
        return serve(args.library, args.port, args.ip, args.token, args.read_only,
                     args.max_kernels, args.voila_arg)
    if args.command == "batch":
        from .batch import run_batch

        code, _ = run_batch(Path(args.library), args.roots, args.skip,
                            Path(args.reports) if args.reports else None)
        return code
    if args.command == "notebooks":
        from .batch import copy_notebooks

        for path in copy_notebooks(Path(args.folder), args.force):
            print(path)
        return EXIT_OK
    try:
        with Library(args.library) as lib:
            if args.command == "ingest":
                roots = args.roots or (None if lib.settings.sources else default_roots())
                if roots is not None and not args.roots:
                    print(f"photolab: no folder given, ingesting {roots[0]}", file=sys.stderr)
                skip = args.skip + ([FACES.name, PEOPLE.name] if args.no_faces else [])
                report = lib.ingest(roots, skip=skip, only=args.only,
                                    show_progress=not args.quiet, engine=args.engine,
                                    ray_address=args.ray_address)
                if not args.quiet:
                    print(report)
                    print(f"library: {lib.root}")
                    print(_summary(lib))
            elif args.command == "photos":
                f = lib.photos(include_missing=args.all)
                if args.errors:
                    f = f.filter(pl.col("error").is_not_null())
                _write(f, args.format, args.output)
            elif args.command == "summary":
                print(_summary(lib))
            elif args.command == "jobs":
                with pl.Config(tbl_rows=-1, tbl_cols=-1, fmt_str_lengths=60):
                    print(lib.jobs().drop("params"))
            elif args.command == "dupes":
                groups = lib.duplicates(args.threshold)
                if args.format == "table":
                    with pl.Config(tbl_rows=-1, fmt_str_lengths=80, tbl_width_chars=200):
                        print(groups.drop("width", "height"))
                    print(f"{groups['group_id'].n_unique()} groups, "
                          f"{groups['reclaimable_bytes'].sum() / 1e6:.1f} MB reclaimable")
                else:
                    _write(groups, args.format, None)
            elif args.command == "places":
                with pl.Config(tbl_rows=-1, fmt_str_lengths=60):
                    print(lib.place_hierarchy().drop("photo_ids"))
            elif args.command == "people":
                with pl.Config(tbl_rows=-1, fmt_str_lengths=60):
                    print(lib.people())
            elif args.command == "cluster":
                given = {"min_cluster_size": args.min_cluster_size,
                         "min_samples": args.min_samples,
                         "cluster_selection_epsilon": args.epsilon, "backend": args.backend,
                         "radius": args.radius}
                faces = lib.cluster_faces(**{k: v for k, v in given.items() if v is not None})
                n = faces["cluster_id"].drop_nulls().n_unique()
                print(f"{faces.height} faces, {n} clusters, "
                      f"{faces['cluster_id'].is_null().sum()} in none, "
                      f"{(faces['assigned_by'] != 'user').sum()} with a suggested name")
            elif args.command == "search":
                filters = {"after": args.after, "before": args.before, "person": args.person,
                           "place": args.place, "camera": args.camera, "tag": args.tag}
                filters = {k: v for k, v in filters.items() if v}
                if (args.similar is None) == (not args.text):
                    raise PhotolabError("give either words to search for or --similar PHOTO_ID")
                words = " ".join(args.text)
                hits = (lib.similar(args.similar, args.k, **filters) if args.similar is not None
                        else lib.search_captions(words, args.k, **filters) if args.captions
                        else lib.search(words, args.k, **filters))
                if args.format == "table":
                    with pl.Config(tbl_rows=-1, fmt_str_lengths=100, tbl_width_chars=200):
                        print(hits)
                else:
                    _write(hits, args.format, None)
            elif args.command == "write-back":
                done = lib.write_back(fields=args.field, dry_run=args.dry_run,
                                      target="inplace" if args.inplace else "sidecar")
                with pl.Config(tbl_rows=-1, fmt_str_lengths=100, tbl_width_chars=200):
                    print(done.select("photo_id", "target", "status", "error",
                                      changes=pl.col("args").list.len()))
                if (done["status"] == "failed").any():
                    return EXIT_FAILED
            elif args.command in family.COMMANDS:
                code = family.run(lib, args, _write)
                if code:
                    return code
            elif args.command == "motion":
                print(lib.motion_video(args.photo_id))
            sys.stdout.flush()  # a closed pipe shows here, not at exit
    except LibraryLockedError as e:
        print(f"photolab: error: {e}", file=sys.stderr)
        return EXIT_LOCKED
    except PhotolabError as e:
        print(f"photolab: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:  # `photolab photos | head`: the reader has what it wanted
        if e.errno != errno.EPIPE and "os error 32" not in str(e):  # (polars' wording)
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
