"""Event titles: from the event's places and dates ("Rome and Florence, 12-18 May 2019",
"Seattle, 3 March 2012", "3 March 2012"), or proposed by a local GGUF text model
(`title_model`), which a person then accepts."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ..errors import ModelNotFoundError, PhotolabError

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
HOW_TO_GET = (
    "title_model names a GGUF text model file (the role LibrePhotos gives Mistral): on a "
    "machine with internet, e.g. `hf download TheBloke/Mistral-7B-Instruct-v0.2-GGUF "
    "mistral-7b-instruct-v0.2.Q4_K_M.gguf` (any small instruct GGUF works), copy it here and "
    "set title_model = \"/path/model.gguf\" in the library's photolab.toml")


def _day(d: date) -> str:
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def date_span(first: date, last: date) -> str:
    """"3 March 2012", "12-18 May 2019", "28 April - 3 May 2019",
    "30 December 2019 - 2 January 2020".

    >>> date_span(date(2019, 5, 12), date(2019, 5, 18))
    '12-18 May 2019'
    """
    if last <= first:
        return _day(first)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}-{last.day} {MONTHS[last.month - 1]} {last.year}"
    if first.year == last.year:
        return f"{first.day} {MONTHS[first.month - 1]} - {_day(last)}"
    return f"{_day(first)} - {_day(last)}"


def _names(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def place_words(cities: Sequence[str], countries: Sequence[str], most: int = 3) -> str:
    """Up to `most` cities ("Rome and Florence"); more: their countries ("Italy and
    France"); more countries: the first ones and how many more; none: ""."""
    if cities and len(cities) <= most:
        return _names(list(cities))
    if countries and len(countries) <= most:
        return _names(list(countries))
    if countries:
        return f"{', '.join(countries[:2])} and {len(countries) - 2} more"
    return ""


def event_title(cities: Sequence[str], countries: Sequence[str], first: date,
                last: date) -> str:
    """The title of an event from its places (in the order it reached them) and days.

    >>> event_title(["Rome", "Florence"], ["Italy"], date(2019, 5, 12), date(2019, 5, 18))
    'Rome and Florence, 12-18 May 2019'
    >>> event_title([], [], date(2012, 3, 3), date(2012, 3, 3))
    '3 March 2012'
    """
    where = place_words(cities, countries)
    when = date_span(first, last)
    return f"{where}, {when}" if where else when


@dataclass(frozen=True)
class TitleParams:
    """A local GGUF text model that proposes event titles.

    Parameters
    ----------
    model : path of the GGUF file ("" : off).
    max_tokens : longest title, in tokens.
    n_ctx : context length.
    threads : CPU threads (0: one per core).
    """

    model: str = ""
    max_tokens: int = 16
    n_ctx: int = 512
    threads: int = 0

    def check(self) -> None:
        if not self.model:
            raise PhotolabError(f"event titles by a model are off. {HOW_TO_GET}")
        if not Path(self.model).expanduser().is_file():
            raise ModelNotFoundError(f"title_model {self.model!r} is not a file. {HOW_TO_GET}")


def title_prompt(event: dict[str, Any], scenes: Sequence[str], captions: Sequence[str]) -> str:
    """What the model is asked: the event's places, days, people, scenes and captions."""
    lines = [f"Places: {', '.join(event['cities'] or event['countries']) or 'unknown'}",
             f"Dates: {date_span(event['start'].date(), event['end'].date())}"]
    if event.get("people"):
        lines.append(f"People: {', '.join(event['people'])}")
    if scenes:
        lines.append(f"Scenes: {', '.join(scenes)}")
    if captions:
        lines.append("Photos: " + " / ".join(captions[:5]))
    return ("Write a short title for this photo album.\n" + "\n".join(lines) + "\nTitle:")


class TitleModel:
    """A loaded GGUF text model (llama-cpp-python): `propose(prompt)` returns one title."""

    def __init__(self, params: TitleParams):
        params.check()
        try:
            from llama_cpp import Llama
        except ImportError as e:
            raise PhotolabError("titles by a model need the captions extra: pip install "
                                "'photolab[captions]'") from e
        self.llm = Llama(model_path=str(Path(params.model).expanduser()), n_ctx=params.n_ctx,
                         n_threads=params.threads or os.cpu_count() or 1, verbose=False, seed=0)
        self.params = params

    def propose(self, prompt: str) -> str:
        """One title (greedy decoding: the same prompt gives the same title)."""
        out = self.llm.create_completion(prompt, max_tokens=self.params.max_tokens,
                                         temperature=0.0, top_k=1, stop=["\n"])
        self.llm.reset()
        return clean_title(str(out["choices"][0]["text"] or ""))

    def close(self) -> None:
        self.llm.close()


def clean_title(text: str) -> str:
    """One line, no quotes or control characters, squeezed white space, at most 80
    characters."""
    text = re.sub(r"[\x00-\x1f\x7f\"]", " ", text)
    return " ".join(text.split())[:80].strip(" .:-")
