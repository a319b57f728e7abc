"""Headless runs for cron: the curator's ingest notebook executed by papermill, kept as the
report, and copies of the notebooks for a curator to edit."""

from __future__ import annotations

import shutil
import sys
from datetime import datetime
from pathlib import Path

from .shipped import folder


def run_batch(library: Path, roots: list[str], skip: list[str],
              reports: Path | None = None) -> tuple[int, Path]:
    """Execute `01_ingest.ipynb` on `library` and keep it under `reports` (default
    `<library>/reports/ingest-<time>.ipynb`). Returns (exit code, report path): 1 when a cell
    raised (a real failure; files that fail to read are errors inside the report, not
    failures), else 0. The ingest is incremental and resumes where a killed run stopped."""
    import papermill as pm

    library = library.expanduser().resolve()
    reports = (reports or library / "reports").expanduser().resolve()
    reports.mkdir(parents=True, exist_ok=True)
    out = reports / f"ingest-{datetime.now():%Y%m%d-%H%M%S}.ipynb"
    try:
        pm.execute_notebook(folder("notebooks") / "01_ingest.ipynb", out, kernel_name="python3",
                            parameters={"roots": roots, "library": str(library), "skip": skip},
                            progress_bar=False, log_output=True, stdout_file=sys.stdout,
                            stderr_file=sys.stderr, cwd=str(Path.cwd()))
    except pm.PapermillExecutionError as e:
        print(f"photolab batch: failed: {e.ename}: {e.evalue} (the report: {out})",
              file=sys.stderr)
        return 1, out
    print(f"photolab batch: done; the report: {out}", file=sys.stderr)
    return 0, out


def copy_notebooks(dest: Path, force: bool = False) -> list[Path]:
    """Copy the curator's notebooks into `dest` (existing files are kept unless `force`)."""
    dest.mkdir(parents=True, exist_ok=True)
    copied = []
    for nb in sorted(folder("notebooks").glob("*.ipynb")):
        target = dest / nb.name
        if target.exists() and not force:
            continue
        shutil.copy(nb, target)
        copied.append(target)
    return copied
