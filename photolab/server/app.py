"""photolab's Voilà: Voilà's own application with photolab's handlers added (the uploads,
`photolab.server.uploads`). Voilà's standalone server has no setting for extra handlers;
`init_handlers` is the method it builds its list with, so this subclass adds to it.
`photolab serve` runs `python -m photolab.server.app` with Voilà's own options."""

from __future__ import annotations

from typing import Any

from voila.app import Voila

from .uploads import handlers


class PhotolabVoila(Voila):
    """Voilà, with photolab's upload handler before its own."""

    def init_handlers(self) -> list[Any]:
        return [*handlers(self.server_url), *super().init_handlers()]


main = PhotolabVoila.launch_instance

if __name__ == "__main__":
    main()
