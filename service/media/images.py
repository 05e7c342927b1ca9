"""What an uploaded file must be, and what is kept of it (Pillow).

:func:`process` takes the uploaded bytes and returns every file to store, in memory; nothing
touches the disk until all of it succeeded, so a refused upload leaves nothing behind.

- The real type is read from the bytes, never from the name or the client's Content-Type:
  JPEG, PNG and WebP only. SVG (a document that can carry scripts), GIF, TIFF, anything
  Pillow cannot read, is refused.
- Size limits: the upload's bytes (``MEDIA_MAX_BYTES``) and its pixels once decoded
  (``MEDIA_MAX_PIXELS``), checked from the header before any pixel is decoded, so a small
  file that would decode to gigabytes (a decompression bomb) is refused cheaply.
- Metadata is dropped: the image is decoded and encoded again from its pixels, without EXIF
  (camera, GPS position, time), XMP, comments or text chunks. The EXIF orientation is applied
  to the pixels first, so a phone's portrait photo stays upright. An embedded ICC colour
  profile is converted to sRGB and then dropped (browsers assume sRGB).
- An animated image keeps its first frame.
- Smaller copies for ``srcset``: WebP at each of :data:`WIDTHS` narrower than the original.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

WIDTHS = (480, 960, 1600)
# Pillow's format name -> (media type, file extension).
ACCEPTED = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"),
            "WEBP": ("image/webp", "webp")}
ACCEPTED_WORDS = "JPEG, PNG or WebP"
_QUALITY = 85
_WEBP_QUALITY = 80


class Refused(ValueError):
    """The upload is not an image we keep; ``reason`` says why in words for the uploader.

    ``kind``: ``type`` (not JPEG, PNG or WebP), ``too-large`` (bytes), ``too-many-pixels``,
    ``broken`` (truncated or corrupt).
    """

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True)
class Rendition:
    name: str  # content-addressed file name
    content_type: str
    width: int
    height: int
    data: bytes


@dataclass(frozen=True)
class Processed:
    sha256: str
    original: Rendition
    sizes: tuple[Rendition, ...]  # narrowest first


def _sniff_svg(data: bytes) -> bool:
    head = data[:1024].lstrip().lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head


def _open(data: bytes, max_pixels: int) -> Image.Image:
    if _sniff_svg(data):
        raise Refused("type", f"SVG images are not accepted (they can carry scripts); send "
                              f"{ACCEPTED_WORDS}.")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=list(ACCEPTED))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise Refused("too-many-pixels", f"The image has more pixels than the limit of "
                                             f"{max_pixels:,}.") from None
        except UnidentifiedImageError:
            raise Refused("type", f"The file is not a {ACCEPTED_WORDS} image.") from None
        except (OSError, SyntaxError, ValueError):
            raise Refused("broken", "The image could not be read (truncated or corrupt).") from None
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        image.close()
        raise Refused("too-many-pixels", f"The image is {width}x{height} pixels, more than the "
                                         f"limit of {max_pixels:,} pixels.")
    return image


def _decoded(image: Image.Image) -> Image.Image:
    """The first frame's pixels, upright, in sRGB, with no metadata left on them."""
    try:
        image.seek(0)
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError):
        raise Refused("broken", "The image could not be read (truncated or corrupt).") from None
    icc = image.info.get("icc_profile")
    upright = ImageOps.exif_transpose(image)
    if "transparency" in upright.info and upright.mode in ("L", "RGB", "P"):
        upright = upright.convert("LA" if upright.mode == "L" else "RGBA")  # keep it
    elif upright.mode not in ("RGB", "RGBA", "L", "LA"):
        upright = upright.convert("RGBA" if upright.mode == "PA" else "RGB")
    if icc:
        upright = _to_srgb(upright, icc)
    clean = upright.copy()
    clean.info = {}
    return clean


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"),
                                              outputMode=image.mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # an unreadable profile: keep the pixels as they are (it is dropped)
    return converted if converted is not None else image


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        rgb = image if image.mode in ("RGB", "L") else image.convert("RGB")
        rgb.save(out, "JPEG", quality=_QUALITY, optimize=True, progressive=True)
    elif fmt == "PNG":
        image.save(out, "PNG", optimize=True)
    else:
        image.save(out, "WEBP", quality=_WEBP_QUALITY, method=4)
    return out.getvalue()


def process(data: bytes, *, max_bytes: int, max_pixels: int) -> Processed:
    """Check ``data`` and make every file to store; raises :class:`Refused`."""
    if len(data) > max_bytes:
        raise Refused("too-large", f"The file is {len(data):,} bytes, more than the limit of "
                                   f"{max_bytes:,} bytes.")
    if not data:
        raise Refused("type", f"The file is empty; send a {ACCEPTED_WORDS} image.")
    image = _open(data, max_pixels)
    fmt = image.format or ""
    if fmt not in ACCEPTED:  # Image.open(formats=...) already saw to it
        raise Refused("type", f"The file is not a {ACCEPTED_WORDS} image.")
    with image:
        clean = _decoded(image)
    content_type, ext = ACCEPTED[fmt]
    original_bytes = _encode(clean, fmt)
    sha = hashlib.sha256(original_bytes).hexdigest()
    original = Rendition(f"{sha}.{ext}", content_type, clean.width, clean.height, original_bytes)
    sizes = []
    for width in WIDTHS:
        if width >= clean.width:
            break
        height = max(1, round(clean.height * width / clean.width))
        small = clean.resize((width, height), Image.Resampling.LANCZOS)
        sizes.append(Rendition(f"{sha}-{width}.webp", "image/webp", width, height,
                               _encode(small, "WEBP")))
    return Processed(sha, original, tuple(sizes))
