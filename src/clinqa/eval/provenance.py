"""What made a run, recorded in its log: clinqa's version and git revision (when run from a checkout), Python and the
versions of the packages that change results, the model spec and the backend's own description (dtype, options,
checkpoint hash where known), the full configuration, and a hash of each data file read."""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGES = ("clinqa", "torch", "transformers", "vllm", "llama-cpp-python", "openai", "trl", "peft", "numpy")
MAX_HASHED = 512 << 20          # files larger than this (big checkpoints) are described by size and mtime only


def package_versions() -> dict[str, str | None]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def git_revision(where: Path = Path(__file__).resolve().parent) -> str | None:
    """The checkout's commit (with "+dirty" when it has changes), or None for an installed package."""
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5)
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return rev.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def file_digest(path: Path) -> dict:
    st = path.stat()
    out = {"path": str(path), "bytes": st.st_size}
    if st.st_size <= MAX_HASHED:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(1 << 22):
                h.update(chunk)
        out["sha256"] = h.hexdigest()
    else:
        out["mtime"] = st.st_mtime
    return out


def data_digests(paths: list[Path]) -> list[dict]:
    """sha256 of every file at `paths` (a folder: every file below it), sorted by path."""
    files = sorted({f for p in paths if p.exists() for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()})
    return [file_digest(f) for f in files]


def provenance(config: dict, model: dict, data_files: list[Path]) -> dict:
    return {"time": time.time(), "clinqa": package_versions()["clinqa"], "git": git_revision(),
            "python": sys.version.split()[0], "platform": platform.platform(), "packages": package_versions(),
            "model": model, "config": config, "data": data_digests(data_files)}
