"""Every use `photolab serve` makes of Voilà's and jupyter_server's private parts, in one place.

photolab reaches Voilà through its public extension points where they exist (traitlets
configuration: the kernel manager class, the kernel websocket connection class, the identity
provider, the logout handler, a template). Three things have none, and are done here:

- Voilà 0.5.13 builds its preheating kernel manager as a subclass *of the class it is given*
  (`voila_kernel_manager_factory(CappedKernelManager, ...)`), so `CappedKernelManager` cannot
  override its methods: it wraps two of them on the instance (`get_rendered_notebook`, which
  hands a page a kernel run ahead, and `_initialize`, which starts one), and reads the
  kernels waiting in its pools (`_pools`) and what `_initialize` returns.
- jupyter_server 2 counts each kernel's open websockets only in `_kernel_connections`.
- Voilà's standalone server has no setting for extra handlers: `photolab.server.app`
  subclasses its application and adds the upload handler to what `Voila.init_handlers`
  returns (a public method; its list ends with Voilà's catch-all routes, so photolab's go
  first).
- The gate before every handler (`photolab.server.gate`) asks tornado whether a handler's
  own `prepare` has already answered (`_finished`), and jupyter_server whether it has
  signed the request in yet (`_jupyter_current_user`: reading `current_user` before then
  raises).

Each use was read against the versions in `CHECKED`; `tests/test_serve_guard.py::
test_voila_internals_are_as_checked` fails when the installed versions differ or a name is
gone: read each use again against the new release, then move `CHECKED` with the pins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: the versions every use below was read against (pinned in pyproject.toml)
CHECKED = {"voila": "0.5.13", "jupyter_server": "2.21.1", "tornado": "6.6.1"}


def wrap_hand_out(manager: Any, wrap: Callable[[Any], Any]) -> bool:
    """Wrap Voilà's `get_rendered_notebook` (a kernel run ahead handed to a page) as
    `wrap(original)`; False where the manager is not Voilà's preheating one."""
    original = getattr(manager, "get_rendered_notebook", None)
    if original is None:
        return False
    manager.get_rendered_notebook = wrap(original)
    return True


def wrap_initialize(manager: Any, wrap: Callable[[Any], Any]) -> None:
    """Wrap Voilà's `_initialize` (start a kernel ahead and run its notebook in a task)."""
    manager._initialize = wrap(manager._initialize)


def on_run_to_end(started: dict[str, Any], then: Callable[[str], None]) -> None:
    """Call `then(kernel_id)` once the notebook `_initialize` started (its returned dict:
    `task`, `renderer`, `kernel_id`) has run to its end with no page having taken it (a
    page that takes it sets the renderer's `stop_generator`)."""
    def done(task: Any) -> None:
        if not (task.cancelled() or task.exception() or started["renderer"].stop_generator):
            then(started["kernel_id"])

    started["task"].add_done_callback(done)


def handed_out_kernel(result: tuple[Any, Any, str]) -> str:
    """The kernel id in what `get_rendered_notebook` returns (task, cells, kernel id)."""
    return result[2]


def pooled_kernels(manager: Any) -> set[str]:
    """The kernels run ahead and waiting in Voilà's pools for a page."""
    pools = getattr(manager, "_pools", {})
    return {item.result()["kernel_id"] for items in pools.values() for item in items
            if item.done() and not item.cancelled() and item.exception() is None}


def connections(manager: Any, kernel_id: str) -> int:
    """How many websockets (pages) are connected to a kernel."""
    return manager._kernel_connections.get(kernel_id, 0)


def finished(handler: Any) -> bool:
    """Whether a tornado handler has already sent its answer (a redirect, an error)."""
    return bool(handler._finished)


def signed_in(handler: Any) -> bool:
    """Whether a jupyter_server handler has signed its request in (its `current_user` set)."""
    return hasattr(handler, "_jupyter_current_user")


def problems() -> list[str]:
    """What differs from the versions and names read (empty when all is as checked)."""
    import inspect
    from importlib import metadata

    from jupyter_server.services.kernels.kernelmanager import (
        AsyncMappingKernelManager,
        MappingKernelManager,
    )
    from voila.voila_kernel_manager import voila_kernel_manager_factory

    found = [f"{name} {metadata.version(name)} (read against {version})"
             for name, version in CHECKED.items() if metadata.version(name) != version]
    preheating = voila_kernel_manager_factory(AsyncMappingKernelManager, True, 1)
    uses = {"get_rendered_notebook": ('"renderer"', "stop_generator",
                                      "return render_task, renderer.rendered_cache, kernel_id"),
            "_initialize": ('"task"', '"renderer"', '"kernel_id"'),
            "fill_if_needed": ("self._pools",)}
    for method, words in uses.items():
        code = inspect.getsource(getattr(preheating, method, lambda: None))
        found += [f"Voilà's {method} no longer has {w}" for w in words if w not in code]
    from voila.app import Voila

    if "return handlers" not in inspect.getsource(getattr(Voila, "init_handlers", lambda: None)):
        found.append("Voilà's init_handlers no longer returns its handlers")
    from jupyter_server.base.handlers import JupyterHandler
    from tornado.web import RequestHandler

    if "self._finished = True" not in inspect.getsource(RequestHandler.finish):
        found.append("tornado's RequestHandler.finish no longer sets _finished")
    if "_jupyter_current_user" not in inspect.getsource(JupyterHandler):
        found.append("jupyter_server's JupyterHandler no longer keeps _jupyter_current_user")
    if "_kernel_connections" not in MappingKernelManager.class_traits():
        found.append("jupyter_server's MappingKernelManager has no _kernel_connections")
    return found
