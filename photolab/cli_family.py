"""The `photolab` commands family members' organising needs: events, albums, memories,
export and members (thin wrappers over `Library` verbs; `photolab.cli` dispatches here)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from .albums.shares import SERVE_URL
from .library import Library

COMMANDS = ("events", "albums", "memories", "export", "members", "share")
EXIT_FAILED = 1  # as photolab.cli: the run failed


def add_commands(sub: Any, library_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the commands' parsers to `photolab`'s subparsers."""
    p = sub.add_parser("events", help="print the events: photos grouped by time and place")
    library_arg(p)
    p.add_argument("--suggest-titles", action="store_true",
                   help="also show the titles the library's title_model proposes")
    p.add_argument("--format", "-f", choices=["table", "csv", "json"], default="table")

    p = sub.add_parser("albums", help="print the albums (made here, from Takeout, folders)")
    library_arg(p)
    p.add_argument("--format", "-f", choices=["table", "csv", "json"], default="table")

    p = sub.add_parser("memories", help="print the photos taken on this day in earlier years")
    library_arg(p)
    p.add_argument("--day", help="the day to remember (YYYY-MM-DD; default today)")
    p.add_argument("--window", type=int, default=0,
                   help="days either side of the day (default 0)")
    p.add_argument("--top", type=int, default=5, help="photos shown per year (default 5)")

    p = sub.add_parser("export", help="copy an album's, event's or person's photos into a "
                       "new folder, named by date, with dates and places written in")
    library_arg(p)
    p.add_argument("folder", help="the new folder (must not exist, or be empty)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--album", help="an album's name or id")
    which.add_argument("--event", type=int, help="an event's id (see photolab events)")
    which.add_argument("--person", help="a person's name")
    p.add_argument("--size", choices=["original", "big"], default="original",
                   help="the originals (default), or 1080 px JPEGs")

    p = sub.add_parser("members", help="family members: their own links, names and roles")
    msub = p.add_subparsers(dest="members_command", required=True)
    m = msub.add_parser("add", help="add a member and print their personal link")
    m.add_argument("name")
    role = m.add_mutually_exclusive_group()
    role.add_argument("--viewer", dest="role", action="store_const", const="viewer",
                      help="may look, change nothing (the default)")
    role.add_argument("--editor", dest="role", action="store_const", const="editor",
                      help="may name people, fix dates, make albums")
    m.add_argument("--url", default=SERVE_URL,
                   help=f"where photolab serve is reached (default {SERVE_URL})")
    library_arg(m)
    m = msub.add_parser("list", help="print the members and their roles")
    library_arg(m)
    m = msub.add_parser("remove", help="remove a member: their link stops working at once")
    m.add_argument("name")
    library_arg(m)
    m = msub.add_parser("set-role", help="make a member a viewer or an editor")
    m.add_argument("name")
    m.add_argument("role", choices=["viewer", "editor"])
    library_arg(m)

    p = sub.add_parser("share", help="share an album by link with someone who is not a "
                       "member (that album alone, read-only); --list, --revoke ID")
    library_arg(p)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("album", nargs="?", help="the album's name or id")
    what.add_argument("--list", action="store_true", help="print every share")
    what.add_argument("--revoke", type=int, metavar="ID", help="end a share: its link stops "
                      "working at once")
    p.add_argument("--expires", default=None, help="how long the link works: 30d, 12h, 2w, "
                   "1y (default: until revoked)")
    p.add_argument("--download", action=argparse.BooleanOptionalAction, default=True,
                   help="whether the originals may be downloaded (default: yes)")
    p.add_argument("--names", action=argparse.BooleanOptionalAction, default=False,
                   help="whether people's names are shown (default: no)")
    p.add_argument("--url", default=SERVE_URL,
                   help=f"where photolab serve is reached (default {SERVE_URL})")


def run(lib: Library, args: argparse.Namespace,
        write: Callable[[pl.DataFrame, str, str | None], None]) -> int:
    """Run one of `COMMANDS`; returns the exit code (0: done)."""
    if args.command == "events":
        _events(lib, args.suggest_titles, args.format, write)
    elif args.command == "albums":
        albums = lib.albums()
        if args.format == "table":
            with pl.Config(tbl_rows=-1, fmt_str_lengths=60, tbl_width_chars=200):
                print(albums)
        else:
            write(albums, args.format, None)
    elif args.command == "memories":
        _memories(lib, args.day, args.window, args.top)
    elif args.command == "export":
        album = (int(args.album) if args.album and args.album.lstrip("-").isdigit()
                 else args.album)
        done = lib.export(args.folder, album=album, event=args.event,
                          person=args.person, size=args.size,
                          show_progress=sys.stderr.isatty())
        with pl.Config(tbl_rows=-1, fmt_str_lengths=80, tbl_width_chars=200):
            print(done.select("photo_id", "file", "status", "error"))
        failed = int((done["status"] == "failed").sum())
        print(f"{done.height - failed} photos exported to {Path(args.folder).resolve()}"
              + (f", {failed} failed" if failed else ""))
        if failed:
            return EXIT_FAILED
    elif args.command == "members":
        _members(lib, args)
    elif args.command == "share":
        _share(lib, args)
    return 0


def _events(lib: Library, suggest: bool, fmt: str,
            write: Callable[[pl.DataFrame, str, str | None], None]) -> None:
    events = lib.events()
    if suggest:
        events = events.join(lib.suggest_event_titles().select("event_id", "suggestion"),
                             on="event_id", how="left")
    if fmt != "table":
        write(events, fmt, None)
        return
    with pl.Config(tbl_rows=-1, fmt_str_lengths=60, tbl_width_chars=220):
        print(events.drop("countries"))
    out = lib.events_left_out()
    print(f"{events.height} events of {events['n_photos'].sum()} photos; in none: "
          f"{out['file_time_only']} dated only by their file's time, {out['undated']} undated")


def _members(lib: Library, args: argparse.Namespace) -> None:
    if args.members_command == "add":
        token = lib.add_member(args.name, args.role or "viewer")
        print(f"{args.name} ({args.role or 'viewer'}): "
              f"{args.url.rstrip('/')}/voila/render/home.ipynb?token={token}")
        print("(the link is shown once: give it to them; photolab keeps only its hash)")
    elif args.members_command == "list":
        with pl.Config(tbl_rows=-1, fmt_str_lengths=60):
            print(lib.members())
    elif args.members_command == "remove":
        lib.remove_member(args.name)
        print(f"{args.name} removed: their link no longer works")
    else:
        lib.set_member_role(args.name, args.role)
        print(f"{args.name} is now a {args.role}")


def _share(lib: Library, args: argparse.Namespace) -> None:
    from .albums.shares import parse_token, share_link

    if args.list:
        with pl.Config(tbl_rows=-1, fmt_str_lengths=60, tbl_width_chars=200):
            print(lib.shares())
    elif args.revoke is not None:
        lib.revoke_share(args.revoke)
        print(f"share {args.revoke} revoked: its link no longer works")
    else:
        album = int(args.album) if args.album.lstrip("-").isdigit() else args.album
        token = lib.share_album(album, expires=args.expires, download=args.download,
                                names=args.names)
        a = lib.album(album)
        share_id, _ = parse_token(token) or (0, "")
        until = lib.shares().filter(pl.col("share_id") == share_id)["expires_at"][0]
        print(f"{a['name']} ({a['n_photos']} photos), share {share_id}"
              f"{f', until {until[:16]} UTC' if until else ''}"
              f"{', no download' if not args.download else ''}"
              f"{', names shown' if args.names else ''}: {share_link(args.url, token)}")
        print("(the link is shown once: photolab keeps only its hash; "
              f"photolab share --revoke {share_id} ends it)")


def _memories(lib: Library, day: str | None, window: int, top: int) -> None:
    found = lib.on_this_day(day, window_days=window)
    if found.height == 0:
        print("no photos from this day in earlier years")
        return
    for (year, ago), rows in found.group_by("year", "years_ago", maintain_order=True):
        print(f"{ago} year{'s' if ago != 1 else ''} ago ({year}): {rows.height} photos")
        for r in rows.head(top).iter_rows(named=True):
            who = f"  with {', '.join(r['people'])}" if r["people"] else ""
            print(f"  #{r['photo_id']}  {r['taken_at']:%Y-%m-%d %H:%M}  {r['path']}{who}")
