"""Family members: each with their own link, their own name on what they decide, and a role
(`viewer`: looks, changes nothing; `editor`: names people, fixes dates, makes albums).

Members live in the library's catalog (`members`), never on a command line or in the
environment. A member's link carries a token `<member_id>.<secret>`; the catalog keeps only
the SHA-256 of the secret (32 random bytes: nothing to guess, so a slow password hash buys
nothing) and compares digests in constant time. A removed member's token and login cookie
stop working on their next request, and their open pages can no longer write (`@writes`
checks the member's role in the catalog before every change).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from .access import active_member, writes
from .context import Service
from .errors import NotFoundError, PhotolabError, ReadOnlyError
from .ledger import now_iso

if TYPE_CHECKING:
    from .catalog import Catalog
    from .context import Context
    from .dedupe.verbs import DuplicatesService

ROLES = ("viewer", "editor")
MEMBER_SCHEMA = {"member_id": pl.Int64, "name": pl.String, "role": pl.String,
                 "created_at": pl.String, "created_by": pl.String}


class MemberNotFoundError(NotFoundError):
    """No member with that name (or the member was removed)."""


def secret_digest(secret: str) -> str:
    """What the catalog keeps of a link's secret (members' and shared albums')."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same_secret(kept_digest: str, secret: str) -> bool:
    """Whether a secret is the one whose digest was kept (compared in constant time)."""
    return hmac.compare_digest(kept_digest, secret_digest(secret))


def parse_token(token: str | None) -> tuple[int, str] | None:
    """(member_id, secret) of a member's token, or None when it is not one."""
    m = re.fullmatch(r"(\d{1,12})\.([A-Za-z0-9_-]{16,128})", token or "")
    return (int(m.group(1)), m.group(2)) if m else None


def member_for_token(catalog: Catalog, token: str | None) -> dict[str, Any] | None:
    """The active member a token belongs to (`member_id`, `name`, `role`), or None."""
    parsed = parse_token(token)
    if parsed is None:
        return None
    row = catalog.frame("SELECT member_id, name, role, secret_sha256 FROM members "
                        "WHERE member_id = ? AND removed_at IS NULL", [parsed[0]])
    if row.height == 0 or not same_secret(row["secret_sha256"][0], parsed[1]):
        return None
    return row.drop("secret_sha256").row(0, named=True)


class MembersService(Service):
    """Family members and their roles (`lib.members`; `lib.members()` lists them). Uses the
    duplicates service's `undo` (which takes back any decision)."""

    def __init__(self, ctx: Context, duplicates: DuplicatesService):
        super().__init__(ctx)
        self.duplicates = duplicates

    def __call__(self) -> pl.DataFrame:
        return self.members()

    def members(self) -> pl.DataFrame:
        """Active members: `member_id`, `name`, `role`, `created_at`, `created_by` (never
        their secrets)."""
        return self.catalog.frame(
            "SELECT member_id, name, role, created_at, created_by FROM members "
            "WHERE removed_at IS NULL ORDER BY name", schema=MEMBER_SCHEMA)

    def _member(self, name: str) -> dict[str, Any]:
        found = active_member(self.catalog, " ".join(str(name).split()))
        if found is None:
            raise MemberNotFoundError(f"no member called {name!r}")
        return found

    def _owner_only(self) -> None:
        if self.member is not None:
            raise ReadOnlyError("only the library's owner manages its members")

    @writes
    def add_member(self, name: str, role: str = "viewer") -> str:
        """A new member; returns their token, the part of their link that lets them in (shown
        once: only its hash is kept). An empty name, or one a member has, is refused."""
        self._owner_only()
        name = " ".join(str(name).split())
        if not name:
            raise PhotolabError("a member's name cannot be empty")
        if role not in ROLES:
            raise PhotolabError(f"role {role!r}: one of {ROLES}")
        if active_member(self.catalog, name) is not None:
            raise PhotolabError(f"there is already a member called {name!r}")
        secret = secrets.token_urlsafe(32)
        with self.catalog.transaction() as c:
            cur = c.execute("INSERT INTO members (name, role, secret_sha256, created_at, "
                            "created_by) VALUES (?,?,?,?,?)",
                            (name, role, secret_digest(secret), now_iso(), self.who))
            member_id = int(cur.lastrowid or 0)
        return f"{member_id}.{secret}"

    @writes
    def remove_member(self, name: str) -> None:
        """Remove a member: their link and their open pages stop working at once (what they
        decided stays, with their name)."""
        m = self._member(name)
        with self.catalog.transaction() as c:
            c.execute("UPDATE members SET removed_at = ? WHERE member_id = ?",
                      (now_iso(), m["member_id"]))

    @writes
    def set_member_role(self, name: str, role: str) -> None:
        """Make a member a `viewer` or an `editor` (their open pages follow at once)."""
        if role not in ROLES:
            raise PhotolabError(f"role {role!r}: one of {ROLES}")
        self._owner_only()
        m = self._member(name)
        with self.catalog.transaction() as c:
            c.execute("UPDATE members SET role = ? WHERE member_id = ?", (role, m["member_id"]))

    def named_by(self) -> pl.DataFrame:
        """Who last named faces as each person, and when: `person_id`, `who`, `at` (what
        the people widgets show as "named by Alice, 2 Dec")."""
        from .ledger import NOT_UNDONE

        return self.catalog.frame(
            "SELECT CAST(json_extract(value, '$.person_id') AS INTEGER) AS person_id, who, "
            "max(at) AS at FROM decisions WHERE kind = 'face_person' AND "
            f"{NOT_UNDONE} GROUP BY 1", schema={"person_id": pl.Int64, "who": pl.String,
                                              "at": pl.String})

    @writes
    def undo_member(self, name: str, since: datetime | str | None = None,
                    who: str | None = None) -> list[int]:
        """Take back every decision one member made (since a point in time), newest first,
        leaving everyone else's as they are. Returns the undo decisions' ids."""
        from .ledger import NOT_UNDONE

        since_iso = _utc_iso(since) if since is not None else ""
        mine = self.catalog.frame(
            f"SELECT decision_id FROM decisions WHERE who = ? AND kind != 'undo' AND at >= ? "
            f"AND {NOT_UNDONE} ORDER BY decision_id DESC", [name, since_iso],
            schema={"decision_id": pl.Int64})
        return [self.duplicates.undo(int(d), who=who) for d in mine["decision_id"]]


def _utc_iso(when: datetime | str) -> str:
    """A time as the catalog stores decision times (UTC, ISO 8601); a time without a zone
    is this machine's local time."""
    if isinstance(when, str):
        try:
            when = datetime.fromisoformat(when)
        except ValueError as e:
            raise PhotolabError(f"since {when!r}: give an ISO date or time") from e
    return when.astimezone(UTC).isoformat(timespec="milliseconds")
