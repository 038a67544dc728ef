"""A photo a branch may add to an item it scores itself (制度上墙, 阵地): never required.

Kept as a file under the data folder (`five_star_photos/`), named by its content's SHA-256 so
the same picture sent twice is one file; only JPEG and PNG, recognised by their first bytes
(never by the name or the type the browser claims).  What fits is the server's request limit
(DANGJIAN_MAX_BODY_BYTES); a larger one is refused with the field named.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from server.errors import NotFound, ValidationFailed

FOLDER = "five_star_photos"
KINDS = {b"\xff\xd8\xff": ("jpg", "image/jpeg"), b"\x89PNG\r\n\x1a\n": ("png", "image/png")}
_NAME = set("0123456789abcdef")


def _kind(content: bytes) -> tuple[str, str] | None:
    return next((k for magic, k in KINDS.items() if content.startswith(magic)), None)


def keep(data_dir: Path, content: bytes) -> str:
    """Store the photo; its file name, to keep with the score."""
    kind = _kind(content)
    if not content or kind is None:
        raise ValidationFailed("照片应为 JPG 或 PNG 图片（也可以不附照片）。", field="photo")
    name = f"{hashlib.sha256(content).hexdigest()[:32]}.{kind[0]}"
    folder = data_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if not target.exists():
        partial = target.with_suffix(".part")
        partial.write_bytes(content)
        partial.replace(target)  # whole or not at all
    return name


def read(data_dir: Path, name: str) -> tuple[bytes, str]:
    """The photo's bytes and type; a name that is not one of ours is not found."""
    stem, _, ext = name.partition(".")
    kinds = {e: mime for e, mime in KINDS.values()}
    if len(stem) != 32 or not set(stem) <= _NAME or ext not in kinds:
        raise NotFound("照片不存在。")
    path = data_dir / FOLDER / name
    if not path.is_file():
        raise NotFound("照片不存在。")
    return path.read_bytes(), kinds[ext]
