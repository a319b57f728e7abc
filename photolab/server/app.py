"""photolab's Voilà: Voilà's own application with photolab's handlers added (the uploads,
`photolab.server.uploads`), and every handler behind the gate that keeps a shared album's
visitor to that album (`photolab.server.gate`). Voilà's standalone server has no setting for
extra handlers; `init_handlers` is the method it builds its list with, so this subclass adds
to it and wraps what it returns.
`photolab serve` runs `python -m photolab.server.app` with Voilà's own options."""

from __future__ import annotations

from typing import Any

from voila.app import Voila

from .gate import ROUTE_LOG, gated, kind_of
from .uploads import handlers


class PhotolabVoila(Voila):
    """Voilà, with photolab's upload handler before its own, every one behind the gate."""

    def init_handlers(self) -> list[Any]:
        routes = [*handlers(self.server_url), *super().init_handlers()]
        for pattern, handler_class, *_ in routes:  # what a share's visitor may reach, told
            self.log.info(ROUTE_LOG, pattern, handler_class.__name__, kind_of(handler_class))
        return [gated(route) for route in routes]


main = PhotolabVoila.launch_instance

if __name__ == "__main__":
    main()
