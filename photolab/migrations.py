"""Numbered schema migrations of the catalog. Append only; never edit a released step.

After any migration, `install_generation_triggers` (re)writes the triggers that move the
catalog's generations as it is written (`photolab.materialised`): the one place that decides
which writes make a kept answer stale, from the schema itself.
"""

from __future__ import annotations

import sqlite3

#: tables people's decisions live in: a write moves `decided` only (a kept answer that reads
#: no decisions stays); every other table's write moves `computed` and `decided`
DECIDED_TABLES = ("decisions", "persons")
#: tables no kept answer reads: the generations themselves, the jobs log, and the faces'
#: nearest-person memo (kept answers' own maintained state, photolab.faces.nearest)
UNKEPT_TABLES = ("generation", "table_generations", "jobs", "face_nearest",
                 "person_centroids")
#: columns whose change no answer shows: when an unchanged file was last seen
UNKEPT_COLUMNS = {"photos": ("last_seen",)}
TRIGGER_PREFIX = "photolab_gen_"

MIGRATIONS: list[str] = [
    # 1: files, computed media facts, stage bookkeeping, decisions, jobs
    """
    CREATE TABLE photos (
        photo_id     INTEGER PRIMARY KEY,
        path         TEXT NOT NULL,              -- for display, undecodable bytes escaped
        path_raw     BLOB NOT NULL UNIQUE,       -- the exact file-system path
        size_bytes   INTEGER,
        mtime_ns     INTEGER,
        content_hash TEXT,                       -- blake2b-128 of the bytes
        status       TEXT NOT NULL DEFAULT 'present' CHECK (status IN ('present', 'missing')),
        scan_error   TEXT,
        first_seen   TEXT NOT NULL,
        last_seen    TEXT NOT NULL
    );
    CREATE INDEX photos_hash ON photos(content_hash);
    CREATE TABLE media (
        photo_id     INTEGER PRIMARY KEY REFERENCES photos ON DELETE CASCADE,
        mime         TEXT,
        width        INTEGER,
        height       INTEGER,
        orientation  INTEGER,
        duration_s   REAL,
        lat          REAL,
        lon          REAL,
        camera_make  TEXT,
        camera_model TEXT,
        tags         TEXT                        -- every exiftool tag, JSON object
    );
    CREATE TABLE dates (
        photo_id        INTEGER PRIMARY KEY REFERENCES photos ON DELETE CASCADE,
        taken_at        TEXT,                    -- local wall-clock time, ISO 8601
        taken_at_utc    TEXT,                    -- ISO 8601 UTC, null when the zone is unknown
        tz_offset       TEXT,                    -- '+02:00', null when unknown
        taken_at_source TEXT
    );
    CREATE TABLE motion (
        photo_id         INTEGER PRIMARY KEY REFERENCES photos ON DELETE CASCADE,
        has_motion_video INTEGER NOT NULL,
        motion_offset    INTEGER,
        motion_length    INTEGER,
        motion_method    TEXT
    );
    CREATE TABLE stage_runs (
        photo_id     INTEGER NOT NULL REFERENCES photos ON DELETE CASCADE,
        stage        TEXT NOT NULL,
        version      TEXT NOT NULL,
        content_hash TEXT,
        ran_at       TEXT NOT NULL,
        error        TEXT,
        PRIMARY KEY (photo_id, stage)
    );
    CREATE TABLE decisions (
        decision_id INTEGER PRIMARY KEY,
        kind        TEXT NOT NULL,
        photo_id    INTEGER,
        value       TEXT,                        -- JSON
        who         TEXT NOT NULL,
        at          TEXT NOT NULL
    );
    CREATE INDEX decisions_kind ON decisions(kind, photo_id);
    CREATE TABLE jobs (
        job_id      INTEGER PRIMARY KEY,
        kind        TEXT NOT NULL,
        status      TEXT NOT NULL,               -- running | done | failed | interrupted
        started_at  TEXT NOT NULL,
        finished_at TEXT,
        host        TEXT,
        pid         INTEGER,
        params      TEXT,
        counts      TEXT,
        n_errors    INTEGER,
        seconds     TEXT                         -- per stage, JSON
    );
    """,
    # 2: perceptual and pixel hashes for duplicates, and files moved to the library's trash
    """
    CREATE TABLE hashes (
        photo_id   INTEGER PRIMARY KEY REFERENCES photos ON DELETE CASCADE,
        phash      INTEGER,                      -- 64-bit pHash, as a signed integer
        pixel_hash TEXT                          -- digest of the decoded image data
    );
    CREATE INDEX hashes_pixel ON hashes(pixel_hash);
    ALTER TABLE photos ADD COLUMN trashed_at TEXT
    """,
    # 3: pHash of the mirrored image, so left-right flipped copies are found too
    """
    ALTER TABLE hashes ADD COLUMN phash_mirror INTEGER
    """,
    # 4: faces (computed), people (ids only: names and assignments are decisions), clusters
    """
    CREATE TABLE faces (
        face_id      INTEGER PRIMARY KEY,
        photo_id     INTEGER NOT NULL REFERENCES photos ON DELETE CASCADE,
        top          INTEGER NOT NULL,           -- pixels of the upright original image
        right        INTEGER NOT NULL,
        bottom       INTEGER NOT NULL,
        left         INTEGER NOT NULL,
        image_width  INTEGER NOT NULL,           -- the upright original's size
        image_height INTEGER NOT NULL,
        encoding     BLOB,                       -- 128 float32, null when no encoding
        source       TEXT NOT NULL,              -- detected | file (a region in the file)
        file_name    TEXT                        -- the name a region in the file gives
    );
    CREATE INDEX faces_photo ON faces(photo_id);
    CREATE TABLE persons (
        person_id  INTEGER PRIMARY KEY,
        created_at TEXT NOT NULL
    );
    CREATE TABLE face_clusters (
        face_id     INTEGER PRIMARY KEY REFERENCES faces ON DELETE CASCADE,
        cluster_id  INTEGER,                     -- null: noise
        probability REAL
    )
    """,
    # 5: places (computed from GPS) and the answers of online geocoders, asked once each
    """
    CREATE TABLE places (
        photo_id     INTEGER PRIMARY KEY REFERENCES photos ON DELETE CASCADE,
        lat          REAL,
        lon          REAL,
        country_code TEXT,
        country      TEXT,
        region       TEXT,                       -- admin1: state, region, province
        subregion    TEXT,                       -- admin2: county, district
        city         TEXT,
        distance_km  REAL,                       -- from the photo to the city
        locality     TEXT,                       -- the nearest populated place
        locality_km  REAL,
        source       TEXT,                       -- gazetteer | an online provider
        reason       TEXT                        -- why there is no place, when there is none
    );
    CREATE TABLE geocode_cache (
        provider TEXT NOT NULL,
        key      TEXT NOT NULL,                  -- rounded 'lat,lon'
        value    TEXT,                           -- JSON of the parsed answer
        at       TEXT NOT NULL,
        PRIMARY KEY (provider, key)
    )
    """,
    # 6: CLIP embeddings (a new embedding_id whenever a vector changes, so the FAISS index
    # beside the catalog knows what it holds) and zero-shot scene tags
    """
    CREATE TABLE embeddings (
        embedding_id INTEGER PRIMARY KEY AUTOINCREMENT,
        photo_id     INTEGER NOT NULL UNIQUE REFERENCES photos ON DELETE CASCADE,
        model        TEXT NOT NULL,              -- the model fingerprint
        vector       BLOB NOT NULL               -- float32, unit length
    );
    CREATE INDEX embeddings_model ON embeddings(model);
    CREATE TABLE scene_tags (
        photo_id INTEGER NOT NULL REFERENCES photos ON DELETE CASCADE,
        tag      TEXT NOT NULL,
        score    REAL NOT NULL,                  -- probability among the labels of its group
        PRIMARY KEY (photo_id, tag)
    );
    CREATE INDEX scene_tags_tag ON scene_tags(tag)
    """,
    # 7: captions from a local vision-language model, and a full-text index over them
    # (its rowid is the photo_id)
    """
    CREATE TABLE captions (
        photo_id INTEGER PRIMARY KEY REFERENCES photos ON DELETE CASCADE,
        model    TEXT NOT NULL,                  -- model files and prompt fingerprint
        caption  TEXT NOT NULL
    );
    CREATE VIRTUAL TABLE captions_fts USING fts5(caption)
    """,
    # 8: what files and their sidecars say about curation (keywords, rating, title,
    # description, people named in the file), and the sidecar each photo was read with
    """
    ALTER TABLE media ADD COLUMN keywords TEXT;
    ALTER TABLE media ADD COLUMN rating INTEGER;
    ALTER TABLE media ADD COLUMN title TEXT;
    ALTER TABLE media ADD COLUMN description TEXT;
    ALTER TABLE media ADD COLUMN file_people TEXT;
    ALTER TABLE photos ADD COLUMN sidecar_sig TEXT
    """,
    # 9: what a Google Takeout sidecar adds: favourite, and the albums a copy sits in
    """
    ALTER TABLE media ADD COLUMN favorite INTEGER;
    ALTER TABLE media ADD COLUMN albums TEXT
    """,
    # 10: how good each face is for telling people apart (faces.detect.face_quality): its
    # side in the pixels the encoder saw, its sharpness, and the detector's score
    """
    ALTER TABLE faces ADD COLUMN side_px INTEGER;
    ALTER TABLE faces ADD COLUMN sharpness REAL;
    ALTER TABLE faces ADD COLUMN detector_score REAL
    """,
    # 11: reads that stay fast at a million photos (benchmarks/catalog.py): the galleries
    # walk photos newest first by index, and photos() finds the few failed stage runs
    # without visiting every run
    """
    CREATE INDEX dates_taken ON dates(taken_at, photo_id);
    CREATE INDEX stage_runs_failed ON stage_runs(photo_id) WHERE error IS NOT NULL
    """,
    # 12: each face's nearest named person, kept and brought up to date as people name
    # faces (photolab.faces.nearest), with the centroids it was measured against
    """
    CREATE TABLE face_nearest (
        face_id   INTEGER PRIMARY KEY REFERENCES faces ON DELETE CASCADE,
        person_id INTEGER NOT NULL,
        dist      REAL NOT NULL
    );
    CREATE TABLE person_centroids (
        person_id INTEGER PRIMARY KEY,
        centroid  BLOB NOT NULL                  -- 128 float64
    )
    """,
    # 13: each photo's sharpness (its small thumbnail's Laplacian variance), for choosing
    # event covers and memories; people's albums are decisions, events are computed on read
    """
    ALTER TABLE hashes ADD COLUMN sharpness REAL
    """,
    # 14: family members (photolab.members): a name, a role, the hash of their link's secret
    """
    CREATE TABLE members (
        member_id     INTEGER PRIMARY KEY,
        name          TEXT NOT NULL,
        role          TEXT NOT NULL CHECK (role IN ('viewer', 'editor')),
        secret_sha256 TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        created_by    TEXT,
        removed_at    TEXT
    );
    CREATE UNIQUE INDEX members_active ON members(name) WHERE removed_at IS NULL;
    CREATE INDEX decisions_who ON decisions(who, decision_id)
    """,
    # 15: what a browser plays for each video and motion photo (photolab.media.previews)
    """
    CREATE TABLE previews (
        photo_id INTEGER PRIMARY KEY REFERENCES photos ON DELETE CASCADE,
        playable TEXT,                           -- 'as stored', 'preview', null: a still
        mp4      TEXT,                           -- file name under previews/, when made
        webp     TEXT                            -- the animated tile preview's file name
    )
    """,
    # 16: the catalog's generation (photolab.materialised): every write transaction adds one
    # to `decided`, and each that writes more than decisions to `computed`, so a verb's
    # result kept for one generation is known to be current without reading its tables
    """
    CREATE TABLE generation (
        only     INTEGER PRIMARY KEY CHECK (only = 1),
        computed INTEGER NOT NULL,
        decided  INTEGER NOT NULL
    );
    INSERT INTO generation VALUES (1, 0, 0)
    """,
    # 17: a generation per table and per decision kind (`table:<name>`, `decision:<kind>`),
    # moved by triggers (`install_generation_triggers`) with the catalog's `generation`
    """
    CREATE TABLE table_generations (
        name TEXT PRIMARY KEY,
        n    INTEGER NOT NULL
    ) WITHOUT ROWID
    """,
    # 18: albums shared by link with someone outside the family (photolab.albums.shares):
    # the album, what the link shows, when it ends, the hash of its secret
    """
    CREATE TABLE shares (
        share_id      INTEGER PRIMARY KEY,
        album_id      INTEGER NOT NULL,
        secret_sha256 TEXT NOT NULL,
        names         INTEGER NOT NULL DEFAULT 0,    -- the names of people shown
        download      INTEGER NOT NULL DEFAULT 1,    -- originals may be downloaded
        expires_at    TEXT,                          -- UTC ISO, null: until revoked
        created_at    TEXT NOT NULL,
        created_by    TEXT,
        revoked_at    TEXT,
        revoked_by    TEXT
    )
    """,
    # 19: camera RAW files (photolab.media.raw, photolab.media.pairs): how each thumbnail
    # was made; a RAW shown as the JPEG it was taken with (`paired_to`, set by the pairs
    # step); the RAWs' thumbnails made again (before, only from embedded previews)
    """
    CREATE TABLE thumbnails (
        photo_id INTEGER PRIMARY KEY REFERENCES photos ON DELETE CASCADE,
        source   TEXT NOT NULL                   -- photolab.media.raw.SOURCES
    );
    ALTER TABLE photos ADD COLUMN paired_to INTEGER REFERENCES photos ON DELETE SET NULL;
    CREATE INDEX photos_paired ON photos (paired_to) WHERE paired_to IS NOT NULL;
    DELETE FROM stage_runs WHERE stage = 'thumbnails'
        AND photo_id IN (SELECT photo_id FROM media WHERE mime LIKE 'image/x-%')
    """,
]


def install_generation_triggers(c: sqlite3.Connection) -> None:
    """(Re)write the triggers that move the generations on every insert, delete and real
    update (a column changed, besides `UNKEPT_COLUMNS`) of every table but `UNKEPT_TABLES`
    and FTS5's own: `computed` and `decided` (`decided` alone for `DECIDED_TABLES`),
    `table:<name>`, and for a decision `decision:<kind>` (an undo moves the undone kind's).
    Writers declare nothing; a write from the sqlite3 shell moves them too."""
    for (name,) in c.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                             "AND name LIKE ?", (TRIGGER_PREFIX + "%",)).fetchall():
        c.execute(f'DROP TRIGGER "{name}"')
    tables = c.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' "
                       "AND name NOT LIKE 'sqlite_%'").fetchall()
    virtual = [n for n, sql in tables if sql.upper().startswith("CREATE VIRTUAL")]
    for table, _ in tables:
        if (table in UNKEPT_TABLES or table in virtual
                or any(table.startswith(v + "_") for v in virtual)):
            continue
        c.execute("INSERT OR IGNORE INTO table_generations VALUES (?, 0)", (f"table:{table}",))
        moves = ("UPDATE generation SET decided = decided + 1" if table in DECIDED_TABLES
                 else "UPDATE generation SET computed = computed + 1, decided = decided + 1")
        body = (f"{moves}; UPDATE table_generations SET n = n + 1 "
                f"WHERE name = 'table:{table}';")
        cols = [r[1] for r in c.execute(f'PRAGMA table_info("{table}")')
                if r[1] not in UNKEPT_COLUMNS.get(table, ())]
        changed = " OR ".join(f'OLD."{col}" IS NOT NEW."{col}"' for col in cols)
        extra = ""
        if table == "decisions":
            extra = ("INSERT INTO table_generations VALUES ('decision:' || NEW.kind, 1) "
                     "ON CONFLICT (name) DO UPDATE SET n = n + 1; "
                     "INSERT INTO table_generations SELECT 'decision:' || t.kind, 1 "
                     "FROM decisions t WHERE NEW.kind = 'undo' "
                     "AND t.decision_id = json_extract(NEW.value, '$.undoes') "
                     "ON CONFLICT (name) DO UPDATE SET n = n + 1;")
        for op, when in (("INSERT", ""), ("DELETE", ""), ("UPDATE", f" WHEN {changed}")):
            c.execute(f'CREATE TRIGGER "{TRIGGER_PREFIX}{table}_{op.lower()}" AFTER {op} '
                      f'ON "{table}"{when} BEGIN {body} {extra if op == "INSERT" else ""} END')
