"""`photolab lab`: JupyterLab on the curator's notebooks, with one library preset."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def lab_command(folder: Path, port: int, ip: str, token: str) -> list[str]:
    """The JupyterLab command line: 127.0.0.1 and a token unless told otherwise, opening
    on `folder` (the notebooks read the library from $PHOTOLAB_LIBRARY)."""
    return [sys.executable, "-m", "jupyterlab", "--no-browser",
            f"--ServerApp.root_dir={folder}", f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0", f"--ServerApp.ip={ip}",
            f"--IdentityProvider.token={token}",
            # the curator's own machine: no news fetches, no extension manager downloads
            "--LabApp.news_url=", "--LabApp.check_for_updates_class="
            "jupyterlab.NeverCheckForUpdate", "--LabServerApp.extension_manager=readonly",
            # containers and CI run as root; JupyterLab refuses root unless told
            *(["--ServerApp.allow_root=True"] if os.geteuid() == 0 else [])]
