"""What `photolab serve` configures Voilà with, and the command line that starts it.

- `GuardedConnection`: every frame a browser sends is checked (`photolab.server.frames`)
  before jupyter_server parses it; a bad frame closes that socket and is logged, so one
  malformed frame cannot stall the server. Sockets without the v1 protocol are closed.
  Tracebacks and stderr the kernel sends (a failing widget callback) are logged on the
  server, not sent to the page.
- `CappedKernelManager`: at most `max_kernels` kernels; when full it first shuts down kernels
  whose page has been gone (no websocket) for `reclaim_after_s`, then refuses politely (503).
  Idle culling (`cull_idle_timeout`) ends the kernels of closed pages within minutes.
- `LogoutHandler`: forgets the login cookie and shows the login page (Voilà has no logout
  template, so jupyter_server's handler answered 500).

Each reaches Voilà through its configuration (traitlets); what has no public extension point
goes through `photolab.server.internals`, the one module that touches private parts.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from jupyter_server._tz import utcnow
from jupyter_server.auth.logout import LogoutHandler as _LogoutHandler
from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from jupyter_server.utils import url_path_join
from tornado import web
from traitlets import Float, Int, TraitError

from . import gate, internals
from .frames import V1, BadFrame, check

#: kernels culled this long after their page's last message once no page is connected
#: (5 min: a phone whose screen locked for a moment finds its page still alive)
CULL_IDLE_S = 300
CULL_INTERVAL_S = 60
MAX_KERNELS = 8
RECLAIM_AFTER_S = 30.0
#: logged when a page's notebook has run to its end in a kernel started ahead of the page
RUN_AHEAD_LOG = "photolab: %s has run ahead in kernel %s"


def _bytes(part: Any) -> bytes:
    return part.bytes if hasattr(part, "bytes") else bytes(part)


class GuardedConnection(ZMQChannelsWebsocketConnection):
    """A kernel websocket that checks each incoming frame and keeps tracebacks server-side."""

    def connect(self) -> Any:
        connected = super().connect()
        if self.subprotocol != V1:  # see `frames.check`: pages speak v1
            self.log.warning("photolab: closed a kernel websocket without the v1 protocol")
            self.websocket_handler.close(1008, "v1 kernel websocket protocol only")
        return connected

    def handle_incoming_message(self, incoming_msg: Any) -> None:
        try:
            check(incoming_msg, self.subprotocol)
        except BadFrame as e:
            self.log.warning("photolab: closed a kernel websocket after a bad frame: %s", e)
            self.websocket_handler.close(1008, "bad frame")
            return
        super().handle_incoming_message(incoming_msg)

    def handle_outgoing_message(self, stream: Any, outgoing_msg: list[Any]) -> None:
        try:
            _, parts = self.session.feed_identities(outgoing_msg)
            kind = json.loads(_bytes(parts[1])).get("msg_type")
            if kind in ("error", "stream"):
                content = _bytes(parts[4])
                if kind == "error" or json.loads(content).get("name") == "stderr":
                    self.log.warning("photolab: kept a kernel %s from the page: %s", kind,
                                     content[:2000].decode(errors="replace"))
                    return
        except (ValueError, IndexError, AttributeError, TypeError):
            pass  # not ours to judge: jupyter_server handles it as before
        super().handle_outgoing_message(stream, outgoing_msg)


class CappedKernelManager(AsyncMappingKernelManager):
    """A kernel manager with a cap on live kernels (one per open page)."""

    max_kernels = Int(MAX_KERNELS, config=True, help="the most kernels (open pages) at once")
    reclaim_after_s = Float(RECLAIM_AFTER_S, config=True,
                            help="when full, shut down kernels with no page connected and no "
                                 "activity for this long before refusing a new page")

    _starting = Int(0)
    _reclaiming: set[str] = set()  # noqa: RUF012  (replaced per instance in __init__)

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._reclaiming = set()
        #: kernels started ahead for a page to come (`PREHEATED`), until a page takes one
        self._ahead: set[str] = set()
        #: of those, the ones still starting (not in the kernel map yet)
        self._arriving: set[str] = set()
        # Voilà's preheating manager (a subclass of this one) hands out kernels run ahead:
        # counted from then on (`photolab.server.internals` holds every private use)
        if internals.wrap_hand_out(self, self._counted_hand_out):
            internals.wrap_initialize(self, self._told_when_run)

    def _counted_hand_out(self, handing: Any) -> Any:
        async def hand_out(*args: Any, **kwargs: Any) -> Any:
            """A kernel run ahead, now a page's: counted from here on, reclaimed and culled
            like any other (whether or not its page ever connects); refused, as a page on
            request is, when the cap is reached (Voilà starts another ahead for each one
            taken, so without this a page reloaded again and again would start kernels
            without end)."""
            async with self._a_page():  # counted while Voilà waits for it to be ready
                result = await handing(*args, **kwargs)
                kid = internals.handed_out_kernel(result)
                self._ahead.discard(kid)
                # its page's, from now: not reclaimable for having run ahead long ago
                self.get_kernel(kid).last_activity = utcnow()
            return result

        return hand_out

    def _told_when_run(self, initialize: Any) -> Any:
        """Voilà's `_initialize` (start a kernel ahead, run its notebook in a task), logging
        "photolab: NOTEBOOK has run ahead" once the notebook has run to its end before any
        page took it: what an operator, a test or a benchmark waits for."""
        async def told(notebook: str, *args: Any, **kwargs: Any) -> Any:
            started = await initialize(notebook, *args, **kwargs)
            internals.on_run_to_end(
                started, lambda kid: self.log.info(RUN_AHEAD_LOG, Path(notebook).name, kid))
            return started

        return told

    def _live(self) -> int:
        """Pages' kernels running or starting (a starting one, or one run ahead being
        handed to a page, counts in `_starting`); the few run ahead (`PREHEATED`)
        count once a page has taken or connected to them."""
        for kid in list(self._ahead - self._arriving):
            if kid not in self or internals.connections(self, kid):
                self._ahead.discard(kid)
        return len(set(self.list_kernel_ids()) - self._ahead) + self._starting

    def _pooled(self) -> set[str]:
        """Preheated kernels waiting for a page (`preheat`): never reclaimed or culled."""
        return internals.pooled_kernels(self)

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        if kernel_id not in self._pooled() | self._ahead:
            await super().cull_kernel_if_idle(kernel_id)

    async def start_kernel(self, *args: Any, **kwargs: Any) -> str:
        if kwargs.get("kernel_id") is not None:  # a restart keeps its place
            return await super().start_kernel(*args, **kwargs)
        if (kwargs.get("env") or {}).get("VOILA_PREHEAT") == "True":  # run ahead: no page yet
            # its id chosen here, so it is known to be ahead while it starts (it is in the
            # kernel map before `start_kernel` returns): neither counted as a page's nor
            # reclaimed meanwhile
            kid = str(uuid.uuid4())
            self._ahead.add(kid)
            self._arriving.add(kid)
            try:
                return await super().start_kernel(*args, kernel_id=kid, **kwargs)
            except BaseException:
                self._ahead.discard(kid)
                raise
            finally:
                self._arriving.discard(kid)
        async with self._a_page():
            kid = await super().start_kernel(*args, **kwargs)
            # who asked for the page (`photolab.server.gate`: a share's page reaches its own)
            gate.record_kernel(kid, set(self.list_kernel_ids()))
            return kid

    @asynccontextmanager
    async def _a_page(self) -> AsyncIterator[None]:
        """Room for one page's kernel (those of pages gone reclaimed first), counted in
        `_starting` while it is started or handed out; refused politely (503) when the cap
        is reached. No await between the last check and the count."""
        if self._live() >= self.max_kernels:
            await self._reclaim()
        if self._live() >= self.max_kernels:
            self.log.warning("photolab: refused a page: %d kernels are running",
                             self.max_kernels)
            raise web.HTTPError(503, reason="Too many pages open: close one, or try again "
                                            "in a minute")
        self._starting += 1
        try:
            yield
        finally:
            self._starting -= 1

    async def _reclaim(self) -> None:
        now = utcnow()
        gone = []
        pooled = self._pooled() | self._ahead
        for kid in set(self.list_kernel_ids()) - pooled:
            try:
                idle = (now - self.get_kernel(kid).last_activity).total_seconds()
            except TraitError:  # still starting: jupyter_server sets it once started
                continue
            if (internals.connections(self, kid) == 0 and idle >= self.reclaim_after_s
                    and kid not in self._reclaiming):
                self._reclaiming.add(kid)  # one shutdown each, however many pages wait
                gone.append(kid)
                self.log.info("photolab: reclaiming kernel %s (no page for %.0f s)", kid, idle)
        try:
            for kid in gone:
                await self.shutdown_kernel(kid)
        finally:
            self._reclaiming.difference_update(gone)


class LogoutHandler(_LogoutHandler):
    """Forget the login cookie and go to the login page."""

    def get(self) -> None:
        self.identity_provider.clear_login_cookie(self)
        self.redirect(url_path_join(self.base_url, "login"))


#: photolab's Voilà template (in `JUPYTER_DATA`): a page's own HTML shows before its scripts
TEMPLATE = "photolab"
#: the Jupyter data folder that holds it (`voila/templates/photolab`), put on JUPYTER_PATH
JUPYTER_DATA = Path(__file__).resolve().parent / "jupyter"


def jupyter_path(env: dict[str, str]) -> str:
    """JUPYTER_PATH with photolab's folder first (where Voilà finds its template)."""
    return os.pathsep.join(p for p in (str(JUPYTER_DATA), env.get("JUPYTER_PATH", "")) if p)


#: the pages a preheated server keeps a kernel ready for (a kernel waiting for its page is
#: not counted in the cap; the reviewers among them read the library again when shown if it
#: was written meanwhile, `photolab.widgets.opened`, and the places page's plain figures are
#: drawn again in the browser, `photolab.widgets.places.ChartHook`)
PREHEATED = ("home.ipynb", "photos.ipynb", "albums.ipynb", "people.ipynb", "places.ipynb",
             "duplicates.ipynb")
#: Voilà's configuration when the library has no members: those pages are run ahead, each
#: in a kernel of its own, so a page shows as soon as it is asked for
PREHEAT_CONFIG = (
    "c.VoilaConfiguration.preheat_kernel = True\n"
    "c.VoilaKernelManager.fill_delay = 0\n"
    "c.VoilaKernelManager.kernel_pools_config = {'default': {'pool_size': 0}, "
    + ", ".join(f"{name!r}: {{'pool_size': 1}}" for name in PREHEATED) + "}\n")


def voila_config_dir(preheat: bool = False) -> Path:
    """A folder with the Voilà configuration file: `member_hook` installed (a Python function
    cannot be given on Voilà's command line), or, for a library with no members and no
    shared albums, kernels preheated for the first pages (Voilà cannot do both: a preheated
    kernel runs its notebook before anyone asks, so it cannot act for whoever asks)."""
    import tempfile

    from .members import VOILA_CONFIG

    where = Path(tempfile.mkdtemp(prefix="photolab-voila-"))
    (where / "voila.py").write_text(PREHEAT_CONFIG if preheat else VOILA_CONFIG)
    return where


def voila_command(dashboards: Path, port: int, ip: str, token: str,
                  max_kernels: int = MAX_KERNELS, config_dir: Path | None = None) -> list[str]:
    """The Voilà command line `photolab serve` becomes."""
    here = "photolab.server.voila"
    config = [] if config_dir is None else [f"--Voila.config_file_paths={config_dir}"]
    return [sys.executable, "-m", "photolab.server.app", str(dashboards), "--no-browser", *config,
            "--Voila.identity_provider_class=photolab.server.members.MemberIdentityProvider",
            f"--port={port}", f"--Voila.ip={ip}", f"--token={token}",
            f"--Voila.kernel_websocket_connection_class={here}.GuardedConnection",
            f"--VoilaConfiguration.multi_kernel_manager_class={here}.CappedKernelManager",
            f"--CappedKernelManager.max_kernels={max_kernels}",
            f"--IdentityProvider.logout_handler_class={here}.LogoutHandler",
            f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_S}",
            f"--MappingKernelManager.cull_interval={CULL_INTERVAL_S}",
            "--MappingKernelManager.cull_connected=False",
            "--VoilaConfiguration.show_tracebacks=False", f"--template={TEMPLATE}"]
