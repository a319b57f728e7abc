"""Every kept answer declares what it reads (`photolab.materialised.kept`): each table
SQLite's authorizer sees it read, and each setting it reads, is declared; so a write to
anything it reads moves its generations."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest
from polars.testing import assert_frame_equal

from photolab import Library
from photolab.materialised import KEPT, reads_of
from photolab.migrations import UNKEPT_TABLES
from photolab.settings import Settings

from .conftest import library_without_weights
from .kept import kept_calls

RELS = ["exif/ianare_gps_DSCN0010.jpg", "exif/mde_Apple_iPhone_4.jpg",
        "dupes/fr_obama-240p.jpg", "dupes/fr_obama-480p.jpg", "faces/df_person01/img1.jpg"]


@dataclasses.dataclass
class RecordingSettings(Settings):
    """Settings that note the name of every field read."""

    def __getattribute__(self, name: str):  # type: ignore[no-untyped-def]
        if name in SETTING_NAMES:
            object.__getattribute__(self, "__dict__").setdefault("_seen", set()).add(name)
        return object.__getattribute__(self, name)


SETTING_NAMES = {f.name for f in dataclasses.fields(Settings)}


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> Library:
    """One library for the module (each test leaves its settings and kept answers as found)."""
    lib = library_without_weights(tmp_path_factory.mktemp("kept"), RELS, skip=[])
    yield lib
    lib.close()


def test_every_kept_answer_declares_every_table_and_setting_it_reads(lib: Library) -> None:
    read: set[str] = set()

    def note(action: int, table: str | None, *_: object) -> int:
        if action == sqlite3.SQLITE_READ and table:
            read.add(table)
        return sqlite3.SQLITE_OK

    schema = set(lib.catalog.frame("SELECT name FROM sqlite_master WHERE type = 'table'")["name"])
    lib.materialised.enabled = False  # every answer computed, and every read seen
    given = lib.settings
    lib.catalog.conn.set_authorizer(note)
    try:
        for call_name, call in kept_calls(lib).items():
            name = call_name.split("(")[0]
            read.clear()
            lib.settings = recording = RecordingSettings(**dataclasses.asdict(given))
            call()
            seen = recording.__dict__.get("_seen", set())
            declared = reads_of(name)
            tables = {t.split("_fts")[0] for t in read & schema}
            missing = tables - declared.tables - {"decisions"} - set(UNKEPT_TABLES)
            assert not missing, f"{call_name} reads tables it does not declare: {missing}"
            assert "decisions" not in tables or declared.decisions is None \
                or declared.decisions, f"{call_name} reads decisions it does not declare"
            unset = seen - declared.settings
            assert not unset, f"{call_name} reads settings it does not declare: {unset}"
    finally:
        lib.catalog.conn.set_authorizer(None)
        lib.settings = given
        lib.materialised.enabled = True
    assert {"photos", "faces", "duplicates", "events", "places"} <= set(KEPT)


def test_a_setting_an_answer_does_not_read_keeps_it(lib: Library,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    made = []
    real = lib.faces._faces
    monkeypatch.setattr(lib.faces, "_faces", lambda *a: made.append(a) or real(*a))
    first = lib.faces(encodings=False)
    lib.settings.thumb_quality += 1  # read by no kept answer of faces
    assert_frame_equal(lib.faces(encodings=False), first)
    assert len(made) == 1
    before = lib.settings.suggest_tolerance
    lib.settings.suggest_tolerance = 0.1  # declared by `faces`: computed again
    assert lib.faces(encodings=False)["person_id"].null_count() == first.height
    assert len(made) == 2
    lib.settings.thumb_quality -= 1
    lib.settings.suggest_tolerance = before
