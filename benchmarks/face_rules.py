"""The field's face clustering rules on generated faces: seconds per rule at 10,000 and
100,000 faces, and the tuner's redraw time at 10,000, in one run.

    .venv/bin/python benchmarks/face_rules.py [--sizes 10000 100000] [--library LIB --truth CSV]

Faces are generated on dlib's scale (tests/generated_faces.py): people's centres 0.88 apart
on average (nearer for the nearest), a person's faces about 0.45 from each other (what dlib
gives one person), a person's number of faces drawn
from a Zipf law, one face in five a stranger seen once. Each rule runs through
`photolab.faces.evaluate.compare_encodings` (scored against the generated identities). The
baseline named in the ratios is photolab's own rule in the same run. The HDBSCAN rules run
only up to `--hdbscan-max` faces (neither finished 100,000 faces in 10 minutes before,
docs/decisions.md). With `--library` and `--truth`, the comparison on that library's
labelled faces is printed first (`compare`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--hdbscan-max", type=int, default=20_000)
    ap.add_argument("--library")
    ap.add_argument("--truth")
    a = ap.parse_args()
    sys.path.insert(0, str(REPO))
    from photolab import Library
    from photolab.faces import evaluate
    from photolab.faces.methods import RULES
    from photolab.widgets.tuner import Tuner
    from tests.generated_faces import generated

    pl.Config.set_tbl_width_chars(160)
    pl.Config.set_tbl_cols(12)
    if a.library and a.truth:
        with Library(a.library, read_only=True) as lib:
            print(f"{a.library}, labelled faces of {a.truth}:")
            print(evaluate.compare(lib, a.truth).drop("params"))
    print(f"generated faces, {__import__('os').cpu_count()} cores")
    for n in a.sizes:
        x, who = generated(n)
        index = pl.DataFrame({"i": np.arange(n, dtype=np.uint32), "person": who.astype(str)})
        names = [m for m in RULES if not m.startswith("hdbscan") or n <= a.hdbscan_max]
        chosen = evaluate.choose(names)
        seeds = (index.filter(pl.len().over("person") > 1).group_by("person",
                 maintain_order=True).head(1))
        named = seeds.select("i", person_id=pl.col("person").rank("dense").cast(pl.Int64) - 1,
                             seeded=pl.lit(True))
        t = time.perf_counter()
        out = evaluate.compare_encodings(x, np.arange(n), index, chosen, named)
        total = time.perf_counter() - t
        base = out.filter(pl.col("method") == "photolab")["seconds"].item()
        out = out.with_columns(vs_photolab=pl.col("seconds") / base).drop("params")
        print(f"\n{n} faces ({index['person'].n_unique()} identities), whole comparison "
              f"{total:.1f} s (the neighbours found once, shared by the distance rules):")
        print(out)
        if n <= 20_000:
            with tempfile.TemporaryDirectory() as d, Library(d) as lib:
                faces = pl.DataFrame({"face_id": np.arange(n), "photo_id": np.arange(n),
                                      "encoding": x}).with_columns(
                    pl.col("encoding").cast(pl.Array(pl.Float32, 128)))
                t = time.perf_counter()
                tuner = Tuner(lib, truth=pl.DataFrame({"face_id": np.arange(n),
                                                       "person": who.astype(str)}),
                              faces=faces)
                built = time.perf_counter() - t
                moves = [tuner.set(radius=r) for r in (0.45, 0.55, 0.4, 0.5)]
                print(f"tuner at {n} faces: built in {built:.1f} s (UMAP and neighbours, "
                      f"once); a slider move re-clusters, scores and redraws in "
                      f"{np.median(moves):.3f} s (median of {len(moves)}, max "
                      f"{max(moves):.3f} s)")


if __name__ == "__main__":
    main()
