"""Where converted and generated model folders live, and how they get there without races."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def cache_dir() -> Path:
    """``$SOCIETYGYM_CACHE`` if set, else the platform's user cache folder for societygym."""
    override = os.environ.get("SOCIETYGYM_CACHE")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("societygym"))


def cached_model_dir(name: str, build: Callable[[Path], object]) -> Path:
    """``<cache>/models/<name>``, made by ``build(folder)`` the first time it is asked for.

    ``build`` writes into a private temporary folder that is then renamed into place in one
    step, so readers never see a half-written model. When two processes build at once, the
    second rename fails because the target exists; that process drops its copy and uses the
    winner's.
    """
    final = cache_dir() / "models" / name
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=final.parent))
    try:
        build(tmp)
        tmp.chmod(0o755)  # mkdtemp makes it private; the model is not
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final
