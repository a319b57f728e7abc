#!/usr/bin/env bash
# Set up photolab on a fresh Debian machine: system tools from apt, the package and its pinned
# dependencies in ./.venv. Safe to re-run; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v exiftool >/dev/null || missing+=(libimage-exiftool-perl)
command -v ffmpeg >/dev/null || missing+=(ffmpeg)
[ -x /usr/bin/chromium ] || missing+=(chromium)  # dashboard tests drive it headless
command -v node >/dev/null || missing+=(nodejs)  # .ci/run checks the widgets' JavaScript
if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    echo "setup: apt-get install ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=.venv/.photolab-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "setup: pip install -e .[sample,test,bench,faces,online,widgets,dashboards,lab,semantic,captions,ray]" \
         "(the first time, llama-cpp-python compiles: about 6 minutes on 2 cores)" >&2
    .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[sample,test,bench,faces,online,widgets,dashboards,lab,semantic,captions,ray]"
    touch "$stamp"
fi
