#!/usr/bin/env bash
# Set up everything medanon needs on a fresh Debian/Ubuntu machine, idempotently:
#   - system tools: Tesseract OCR (eng, fra) and dicom3tools (dciodvfy, for validity tests);
#   - a virtual environment in .venv with medanon installed (editable) and its dev tools.
# Re-running it is cheap: what is already there is not installed again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need_apt=()
command -v tesseract >/dev/null 2>&1 || need_apt+=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-fra)
command -v dciodvfy >/dev/null 2>&1 || need_apt+=(dicom3tools)
if [ ${#need_apt[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing system packages: ${need_apt[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "setup: apt-get not found; install Tesseract and dicom3tools yourself: ${need_apt[*]}" >&2
    exit 1
  fi
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.medanon-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing medanon and its Python dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[codecs,dask,dev]"
  touch "$stamp"
fi
echo "setup: ready ($(.venv/bin/medanon --version))"
