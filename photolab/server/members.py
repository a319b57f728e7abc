"""Family members on `photolab serve`: each comes in through their own link, and each page
they open runs as them.

- `MemberIdentityProvider` (jupyter_server's identity provider, as Voilà uses it): a
  member's token (in their link, or typed on the login page) signs them in as themselves; the
  owner's token still signs in the owner. A member's login cookie is checked against the
  catalog on every request, so a removed member is sent to the login page at once.
- A shared album's link (`photolab.albums.shares`) signs its holder in as that share
  (`share:<id>`), checked against the catalog on every request like a member's: an expired
  or revoked share is sent to the login page. What a share may reach is
  `photolab.server.gate`'s to say.
- `member_hook` (Voilà's prelaunch hook): before a member's page starts its kernel, a first
  cell is put into the dashboard that makes its `Library` act for the member
  ($PHOTOLAB_MEMBER: decisions carry their name, writes follow their role) and read-only for
  a viewer ($PHOTOLAB_READONLY), and shows who is signed in. The page cannot run code of its
  own (`photolab.server.frames` lets no execute request through), so it cannot undo that.
"""

from __future__ import annotations

import html
import inspect
import logging
import os
from pathlib import Path
from typing import Any

from jupyter_server.auth.identity import PasswordIdentityProvider, User

from ..albums.shares import active_share, share_for_token
from ..catalog import Catalog
from ..members import active_member, member_for_token

PREFIX = "member:"
SHARE_PREFIX = "share:"
#: the share a shared album's page shows (set by `member_hook`, read by its dashboard)
SHARE_ENV = "PHOTOLAB_SHARE"
#: set by `photolab serve` when it started for a library with no members (`members_served`)
NO_MEMBERS_ENV = "PHOTOLAB_NO_MEMBERS"


def _catalog() -> Catalog:
    global _CATALOG
    if _CATALOG is None:
        library = Path(os.environ["PHOTOLAB_LIBRARY"])
        _CATALOG = Catalog(library / "catalog.sqlite", read_only=True)
    return _CATALOG


_CATALOG: Catalog | None = None


def _user(member: dict[str, Any]) -> User:
    name = str(member["name"])
    return User(username=f"{PREFIX}{member['member_id']}", name=name, display_name=name,
                initials=name[:1].upper())


def member_of(user: User | None) -> dict[str, Any] | None:
    """The active member a signed-in user is (None: the owner, or no longer a member)."""
    if user is None or not user.username.startswith(PREFIX):
        return None
    found = active_member(_catalog(), user.name)
    if found is None or f"{PREFIX}{found['member_id']}" != user.username:
        return None
    return found


def share_of(user: User | None) -> dict[str, Any] | None:
    """The active share a signed-in user holds the link of (None: not a share's visitor, or
    the share has expired or been revoked)."""
    if user is None or not user.username.startswith(SHARE_PREFIX):
        return None
    try:
        share_id = int(user.username.removeprefix(SHARE_PREFIX))
    except ValueError:
        return None
    return active_share(_catalog(), share_id)


def _share_user(share: dict[str, Any]) -> User:
    return User(username=f"{SHARE_PREFIX}{share['share_id']}", name="guest",
                display_name="A shared album", initials="S")


class MemberIdentityProvider(PasswordIdentityProvider):
    """The owner's token, a member's own token, or a shared album's token signs a browser in."""

    async def get_user_token(self, handler: Any) -> User | None:
        return (self._signed_in(self.get_token(handler))
                or await super().get_user_token(handler))

    async def get_user_cookie(self, handler: Any) -> User | None:
        user = super().get_user_cookie(handler)
        if inspect.isawaitable(user):
            user = await user
        if user is not None and user.username.startswith(PREFIX) and (
                member_of(user) is None or not members_served()):
            return None  # removed (or a server without members): the login page again
        if user is not None and user.username.startswith(SHARE_PREFIX) and (
                share_of(user) is None):
            return None  # expired or revoked: the login page
        return user

    def process_login_form(self, handler: Any) -> User | None:
        return (self._signed_in(handler.get_argument("password", default=""))
                or super().process_login_form(handler))

    @staticmethod
    def _signed_in(token: str | None) -> User | None:
        """The member or share a token is (None: neither: maybe the owner's)."""
        member = _member_for(token)
        if member is not None:
            return _user(member)
        share = share_for_token(_catalog(), token) if token else None
        if share is not None and not members_served():
            logging.getLogger("photolab").warning(
                "photolab: a shared album's link needs `photolab serve` started again: it "
                "was started when the library had no members and no shared albums")
            return None
        return _share_user(share) if share is not None else None


def members_served() -> bool:
    """Whether this server lets members in: one started for a library with no members
    preheats its pages' kernels as the owner's, so it lets no member in until it restarts."""
    return os.environ.get(NO_MEMBERS_ENV, "") == ""


def _member_for(token: str | None) -> dict[str, Any] | None:
    member = member_for_token(_catalog(), token) if token else None
    if member is not None and not members_served():
        logging.getLogger("photolab").warning(
            "photolab: %s's link needs `photolab serve` started again: it was started when "
            "the library had no members", member["name"])
        return None
    return member


def banner(name: str, role: str) -> str:
    """What every page shows at its top: who is signed in, and a way out."""
    return (f"<div class='photolab-member' style='text-align:right;font-size:90%'>"
            f"{html.escape(name)} ({html.escape(role)}) · <a href='../../logout'>sign out</a>"
            "</div>")


def member_hook(req: Any, notebook: Any, cwd: str) -> Any:
    """Voilà's prelaunch hook: the page's first cell makes it act for the signed-in member."""
    import nbformat

    share = share_of(req.current_user)
    member = member_of(req.current_user)
    read_only = os.environ.get("PHOTOLAB_READONLY", "")
    if share is not None:  # a shared album's page: that album alone, read-only
        env = {SHARE_ENV: str(share["share_id"]), "PHOTOLAB_READONLY": "1",
               "PHOTOLAB_MEMBER": ""}
        source = f"import os as _os\n_os.environ.update({env!r})"
        notebook.cells.insert(0, nbformat.v4.new_code_cell(source))
        return notebook
    if member is None:  # the owner
        name, role, env = "owner", "read-only" if read_only else "editor", {}
    else:
        name, role = str(member["name"]), str(member["role"])
        env = {"PHOTOLAB_MEMBER": name,
               "PHOTOLAB_READONLY": "1" if role != "editor" or read_only else ""}
    source = ("import os as _os\n"
              f"_os.environ.update({env!r})\n"
              "from IPython.display import HTML as _HTML, display as _display\n"
              f"_display(_HTML({banner(name, role)!r}))")
    notebook.cells.insert(0, nbformat.v4.new_code_cell(source))
    return notebook


#: the Voilà configuration file `photolab serve` points Voilà at
VOILA_CONFIG = ("from photolab.server.members import member_hook\n"
                "c.VoilaConfiguration.prelaunch_hook = member_hook\n")
