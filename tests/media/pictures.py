"""Real image files for upload tests, made with Pillow: with EXIF (a GPS position, a camera,
an orientation), an ICC profile, transparency; and files that must be refused."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

from PIL import Image, ImageCms

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F


def photo(width: int = 2000, height: int = 1000, fmt: str = "JPEG", *,
          orientation: int | None = None, gps: bool = True, icc: bool = False) -> bytes:
    """A landscape picture: red left half, blue right half (so rotation shows)."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    image.paste((30, 30, 200), (width // 2, 0, width, height))
    exif = Image.Exif()
    exif[MAKE] = "Observatory Camera Co."
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    if orientation is not None:
        exif[ORIENTATION] = orientation
    out = io.BytesIO()
    options: dict[str, object] = {"exif": exif.tobytes()}
    if icc:
        options["icc_profile"] = ImageCms.ImageCmsProfile(
            ImageCms.createProfile("sRGB")).tobytes()
    image.save(out, fmt, **options)
    return out.getvalue()


def transparent_png(width: int = 600, height: int = 300) -> bytes:
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    image.paste((10, 120, 10, 255), (0, 0, width // 3, height))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (40, 40)).save(out, "GIF")
    return out.getvalue()


def bomb(side: int = 10_000) -> bytes:
    """A small PNG that decodes to side*side pixels (100 million by default)."""
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG", optimize=True)
    return out.getvalue()


SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(1)</script><rect width="10" height="10"/></svg>')


def multipart(data: bytes, filename: str = "picture.jpg", field: str = "file",
              **fields: str | None) -> tuple[bytes, str]:
    """A multipart/form-data body as a browser sends it: (bytes, Content-Type).

    Made by hand rather than by the test client's builder, which spools large bodies to a
    temporary file it leaves open."""
    boundary = "----newsroom" + uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        if value is not None:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
                         f"\r\n\r\n{value}\r\n".encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
                 f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                 .encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def files_under(root: Path) -> list[str]:
    """Every file below ``root`` (temporary ones too), as sorted relative paths."""
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
