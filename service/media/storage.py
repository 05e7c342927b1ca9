"""Files under ``MEDIA_ROOT``: ``<root>/<first two hex digits>/<name>``, written once.

Names are the content's hash, so a file never changes once written: a second upload of the
same picture finds it there and writes nothing, and caches may keep it for ever. Each file is
written to a temporary name in its directory and renamed into place, so a reader (nginx, the
app) never sees half a file and a failed write leaves none.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from flask import current_app

URL_PREFIX = "/media/"
_NAME = re.compile(r"[0-9a-f]{64}(?:-[0-9]+)?\.(?:jpg|png|webp)")


def root() -> Path:
    media_dir: Path = current_app.config["SETTINGS"].media_dir
    return media_dir


def relative_path(name: str) -> str:
    """``"ab12...cd.jpg"`` -> ``"ab/ab12...cd.jpg"``: the path under the root and the URL."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a media file name: {name!r}")
    return f"{name[:2]}/{name}"


def url_path(name: str) -> str:
    """The site path a file is served at: ``/media/ab/ab12...cd.jpg``."""
    return URL_PREFIX + relative_path(name)


def is_media_name(name: str) -> bool:
    return bool(_NAME.fullmatch(name))


def write(name: str, data: bytes, media_root: Path | None = None) -> bool:
    """Store ``data`` as ``name`` unless it is there already; True when written now."""
    target = (media_root or root()) / relative_path(name)
    if target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)  # nginx's workers run as another user
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return True


def remove(name: str, media_root: Path | None = None) -> None:
    """Delete one stored file (gone already is fine)."""
    ((media_root or root()) / relative_path(name)).unlink(missing_ok=True)
