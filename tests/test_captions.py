"""Captions through llama-cpp-python's real loading and generation path, with a tiny GGUF
text model and vision projector the tests build (no real multimodal GGUF can be had here)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import polars as pl
import pytest
from PIL import Image

from photolab import Library
from photolab.errors import ModelNotFoundError, PhotolabError
from photolab.semantic.captions import Captioner, CaptionParams

from .conftest import CORPUS, PHOTOLAB, copy_files, env
from .tiny_vlm import save_tiny_vlm

PHOTOS = ["dupes/fr_obama-240p.jpg", "exif/ianare_gps_DSCN0010.jpg", "faces/fr_biden/biden.jpg"]


@pytest.fixture(scope="session")
def tiny_vlm(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    text, mmproj = save_tiny_vlm(tmp_path_factory.mktemp("tiny-vlm"))
    return str(text), str(mmproj)


@pytest.mark.parametrize("handler", ["moondream", "mtmd"])
def test_the_real_llama_cpp_path_captions_an_image(tiny_vlm: tuple[str, str],
                                                   handler: str) -> None:
    captioner = Captioner(CaptionParams(model=tiny_vlm[0], mmproj=tiny_vlm[1], handler=handler,
                                        max_tokens=12, n_ctx=512))
    a = Image.open(CORPUS / PHOTOS[0])
    first = captioner.caption(a)
    assert isinstance(first, str) and first  # random weights: noise, but generated
    assert captioner.caption(a) == first  # greedy: the same image, the same caption
    # the image reaches the model: its projector's output changes the generated text
    other = [captioner.caption(Image.open(CORPUS / p)) for p in PHOTOS[1:]]
    assert any(o != first for o in other)
    captioner.llm.close()


def test_missing_files_and_captions_off_are_clear(tmp_path: Path,
                                                  tiny_vlm: tuple[str, str]) -> None:
    with pytest.raises(ModelNotFoundError, match="hf download vikhyatk/moondream2"):
        CaptionParams(model=tiny_vlm[0], mmproj=str(tmp_path / "nope.gguf")).check()
    with pytest.raises(PhotolabError, match="captions are off"):
        CaptionParams().check()
    with pytest.raises(PhotolabError, match="caption_handler"):
        CaptionParams(model=tiny_vlm[0], mmproj=tiny_vlm[1], handler="blip").check()
    src = tmp_path / "p"
    copy_files(src, PHOTOS[:1])
    with Library(tmp_path / "lib") as lib:
        report = lib.ingest([src], skip=["faces", "people"], show_progress=False)
        assert report.skipped["captions"].startswith("captions are off")
        assert report.counts["thumbnails_done"] == 1


def test_captions_stage_stores_and_searches_captions(tmp_path: Path, tiny_vlm: tuple[str, str],
                                                     tiny_clip: str) -> None:
    src = tmp_path / "p"
    copy_files(src, PHOTOS)
    (src / "empty.jpg").write_bytes(b"")
    with Library(tmp_path / "lib") as lib:
        lib.settings.caption_model, lib.settings.caption_mmproj = tiny_vlm
        lib.settings.caption_max_tokens = 12
        lib.settings.clip_model = tiny_clip
        lib.settings.save(lib.root)
        report = lib.ingest([src], skip=["faces", "people"], show_progress=False)
        # the empty file fails once, under thumbnails; captions does not count it again
        assert report.counts["captions_done"] == 4 and report.errors["captions"] == 0
        assert report.errors["thumbnails"] == 1
        caps = lib.captions()
        assert caps.height == 3 and caps["caption"].str.len_chars().min() > 0
        photos = lib.photos()
        empty = photos.filter(pl.col("path").str.ends_with("empty.jpg"))
        told = empty["error"][0]
        assert "thumbnails: " in told and "captions: " not in told and "tags: " not in told
        # a caption is searchable by its words, and search() shows it
        row = caps.row(0, named=True)
        word = max(re.findall(r"[A-Za-z]{2,}", row["caption"]), key=len)
        found = lib.search_captions(word)
        assert row["photo_id"] in found["photo_id"].to_list()
        assert found["caption"].str.to_lowercase().str.contains(word.lower(), literal=True).all()
        hits = lib.search("a photo", k=10)
        assert hits.filter(pl.col("photo_id") == row["photo_id"])["caption"][0] == row["caption"]
        # rerunning changes nothing; a new prompt re-captions
        again = lib.ingest(only=["captions"], show_progress=False)
        assert again.counts["captions_done"] == 0
        lib.settings.caption_prompt = "What is in this photo?"
        again = lib.ingest(only=["captions"], show_progress=False)
        assert again.counts["captions_done"] == 4
        row = lib.captions().row(0, named=True)
        word = max(re.findall(r"[A-Za-z]{2,}", row["caption"]), key=len)
        out = subprocess.run([*PHOTOLAB, "search", "-l", str(lib.root), "--captions", word,
                              "-f", "csv"], capture_output=True, text=True, env=env(),
                             check=True).stdout
        assert row["photo_id"] in pl.read_csv(out.encode())["photo_id"].to_list()
        # and in the widget, with the "words in captions" switch
        from photolab.widgets import SearchBox

        box = SearchBox(lib)
        box.in_captions.value = True
        box.text.value = word
        assert row["photo_id"] in box.results["photo_id"].to_list()
        card = next(c for c in box.grid.children if c.photo_id == row["photo_id"])
        assert word in card.children[1].value
