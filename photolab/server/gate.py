"""The gate every request of `photolab serve` passes: what the holder of a shared album's link
(`photolab.albums.shares`) may reach.

`gated` wraps each handler the server has (Voilà's, jupyter_server's login and logout,
photolab's uploads) in a subclass whose `prepare` runs the handler's own sign-in, then,
for a share's visitor only, lets through:

- `OPEN`: the page furniture anyone may fetch without signing in (Voilà's templates, static
  files, themes, JupyterLab extensions' files) and the login and logout pages;
- `PAGE`: the shared album's page (`shared.ipynb`) and no other notebook;
- `KERNEL`: the kernel that page started (its websocket, its model, its shutdown), and no
  other kernel, whatever its id.

Everything else (the tree, the other pages, files, contents, the uploads, any handler a
later Voilà adds) answers 404 to them, as if it were not there. The owner and the members
pass as before. A share that has expired or been revoked signs nobody in
(`photolab.server.members`), so its link leads to the login page at once.

`PAGE_USER` carries who asked for a page into `CappedKernelManager.start_kernel`, which
records each page's kernel with it (`record_kernel`).
"""

from __future__ import annotations

import contextvars
import inspect
from typing import Any

from jupyter_server.auth.login import LoginFormHandler
from jupyter_server.auth.logout import LogoutHandler
from jupyter_server.base.handlers import FileFindHandler, JupyterHandler
from jupyter_server.services.kernels.handlers import KernelHandler
from jupyterlab_server.themes_handler import ThemesHandler
from tornado import web
from voila.request_info_handler import RequestInfoSocketHandler
from voila.shutdown_kernel_handler import VoilaShutdownKernelHandler
from voila.static_file_handler import MultiStaticFileHandler, TemplateStaticFileHandler
from voila.tornado.execution_request_handler import ExecutionRequestHandler
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler

from ..albums.shares import SHARED_PAGE
from . import internals
from .members import share_of

OPEN = (TemplateStaticFileHandler, MultiStaticFileHandler, ThemesHandler, FileFindHandler,
        LoginFormHandler, LogoutHandler)
PAGE = (TornadoVoilaHandler,)
KERNEL = (KernelHandler, VoilaKernelWebsocketHandler, VoilaShutdownKernelHandler,
          RequestInfoSocketHandler, ExecutionRequestHandler)

#: how the server logs each of its routes as it starts (pattern, handler, kind of `kind_of`)
ROUTE_LOG = "photolab: route %s %s %s"
#: who asked for the page whose kernel is being started (a username; "" for nobody)
PAGE_USER: contextvars.ContextVar[str] = contextvars.ContextVar("photolab_page_user",
                                                                default="")
#: the user each page's kernel was started for, by kernel id
_KERNEL_USERS: dict[str, str] = {}


def record_kernel(kernel_id: str, live: set[str]) -> None:
    """Remember who the kernel being started is for (and forget kernels no longer `live`)."""
    for gone in set(_KERNEL_USERS) - live:
        del _KERNEL_USERS[gone]
    _KERNEL_USERS[kernel_id] = PAGE_USER.get()


def kernel_user(kernel_id: str) -> str | None:
    """Who a page's kernel was started for (None: not a page's kernel this server knows)."""
    return _KERNEL_USERS.get(kernel_id)


def kind_of(handler_class: type) -> str:
    """`open`, `page`, `kernel`, or `closed` (to a share's visitor) for a handler's class."""
    for kind, classes in (("open", OPEN), ("page", PAGE), ("kernel", KERNEL)):
        if issubclass(handler_class, classes):
            return kind
    return "closed"


class _Gate:
    """What `gated` puts before a handler's class."""

    _photolab_kind = "closed"

    async def prepare(self, *args: Any, **kwargs: Any) -> None:
        handler: Any = self
        try:
            done = super().prepare(*args, **kwargs)  # type: ignore[misc]
            if inspect.isawaitable(done):
                await done
        except web.HTTPError:  # refused by its own checks (XSRF...): to a share, not found
            if not await self._passes():
                raise web.HTTPError(404) from None
            raise
        if internals.finished(handler):  # sent to the login page by its own sign-in
            return
        if not await self._passes():
            raise web.HTTPError(404)

    async def _passes(self) -> bool:
        """Whether this request may go on: anyone's but a share visitor's; theirs only to
        the open routes, their album's page and the kernel that page started."""
        handler: Any = self
        user = await _user(handler)
        username = getattr(user, "username", "") or ""
        if self._photolab_kind == "page":
            PAGE_USER.set(username)
        if share_of(user) is None:
            return True
        # what the route's pattern caught: a page's path, a kernel's id
        caught = str(next(iter([*handler.path_args, *handler.path_kwargs.values()]), ""))
        return (self._photolab_kind == "open"
                or (self._photolab_kind == "page" and caught.strip("/") == SHARED_PAGE)
                or (self._photolab_kind == "kernel" and kernel_user(caught) == username))


async def _user(handler: Any) -> Any:
    """The signed-in user of a request (as the handler's own sign-in found it, else from
    the login cookie: handlers that do not sign in, or one that refused before)."""
    if isinstance(handler, JupyterHandler) and internals.signed_in(handler):
        return handler.current_user
    provider = handler.settings.get("identity_provider")
    if provider is None:
        return None
    user = provider.get_user_cookie(handler)
    return await user if inspect.isawaitable(user) else user


def gated(route: tuple[Any, ...]) -> tuple[Any, ...]:
    """A route of the server, its handler put behind the gate."""
    pattern, handler_class, *rest = route
    wrapped = type(handler_class.__name__, (_Gate, handler_class),
                   {"_photolab_kind": kind_of(handler_class),
                    "__module__": handler_class.__module__,
                    "__doc__": handler_class.__doc__})
    return (pattern, wrapped, *rest)
