"""Every kept answer of the registry (`photolab.materialised.KEPT`), called as its service
calls it: what the kept-answer tests enumerate instead of a hand list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from photolab import Library
from photolab.faces.reads import HIDDEN
from photolab.library import SERVICES
from photolab.materialised import KEPT


def _arguments(lib: Library) -> dict[str, list[tuple[Any, ...]]]:
    """The argument lists each kept answer that takes any is kept for."""
    s = lib.settings
    return {"photo-rows": [(False,), (True,)], "photos": [(False,), (True,)],
            "faces": [(True,), (False,)],
            "duplicates": [(s.dupe_threshold, s.dupe_clip_distance),
                           (8, s.dupe_clip_distance)],
            "events": [("events",), ("members",), ("left_out",)]}


def owner(lib: Library, name: str) -> Any:
    """The service of `lib` whose method the kept answer `name` is."""
    cls = KEPT[name].__qualname__.split(".")[0]
    services = [getattr(lib, a) for a, kind in SERVICES.items()
                if cls in {t.__name__ for t in kind.__mro__}]
    assert len(services) == 1, f"{name}: kept by {cls}, found in {services}"
    return services[0]


def shown(name: str, answer: pl.DataFrame) -> pl.DataFrame:
    """What a kept answer shows: the faces' hidden columns are their refresh's own (a face's
    nearest person outside the suggestion tolerance is left as it was: `faces.reads`)."""
    return answer.drop(HIDDEN) if name == "faces" else answer


def kept_calls(lib: Library) -> dict[str, Callable[[], pl.DataFrame]]:
    """`name(args)` -> a call of that kept answer, for every kept answer and argument list."""
    args = _arguments(lib)
    calls: dict[str, Callable[[], pl.DataFrame]] = {}
    for name, answer in KEPT.items():
        service = owner(lib, name)
        for a in args.get(name, [()]):
            calls[f"{name}{a}"] = lambda name=name, answer=answer, service=service, a=a: shown(
                name, answer(service, *a))
    return calls
