"""Images in and out of the service: uploads judged by decoding them, and crops served only by opaque id.

In: a file is an image when Pillow decodes all of it, whatever its name or content type says. Its pixel count is
read from the header and refused before decoding (a 100 kB PNG can declare 50,000 x 50,000 pixels), with Pillow's
decompression-bomb guard as a second line; its byte count was already bounded while it streamed in
(`upload_limit.py`).

Out: an image is served by the gallery id of its crop. The id resolves to the path the catalogue recorded, which
must lie, after every symlink is resolved, under one of the roots the gallery's crops came from. A path from the
client is never opened.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from vireid.serve.errors import ServiceError

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "BMP": "image/bmp", "WEBP": "image/webp"}
"""What a crop may be: what cameras and trackers write. Others (TIFF, GIF, ICO...) are refused as uploads."""
SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "BMP": ".bmp", "WEBP": ".webp"}


def decode_upload(data: bytes, max_pixels: int, what: str = "the upload") -> tuple[Image.Image, str]:
    """(the decoded image, its format); 413 over `max_pixels`, 415 for anything Pillow cannot fully decode."""
    if not data:
        raise ServiceError(415, f"{what} is empty; send a JPEG, PNG, BMP or WebP crop")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            fmt = str(image.format)
            if fmt not in FORMATS:
                raise ServiceError(415, f"{what} is {fmt}, not a JPEG, PNG, BMP or WebP crop")
            width, height = image.size
            if width * height > max_pixels:
                raise ServiceError(
                    413, f"{what} is {width} x {height} pixels; the limit is {max_pixels:,} (send the person crop)"
                )
            image.load()  # decodes every byte: a truncated or forged file fails here
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ServiceError(413, f"{what} declares more pixels than the limit of {max_pixels:,}") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise ServiceError(415, f"{what} is not an image Pillow can decode ({str(err)[:120]})") from None
    return image, fmt


def media_type(path: Path) -> str:
    """The content type of a stored crop, from its decoded header (never from its name)."""
    try:
        with Image.open(path) as image:
            return FORMATS.get(str(image.format), "application/octet-stream")
    except (OSError, SyntaxError, ValueError):
        raise ServiceError(404, "the crop's image file is unreadable; re-add it") from None


def resolve_under(path: str, roots: Sequence[Path]) -> Path:
    """The real path of a catalogued crop, if it lies under one of `roots` (themselves resolved); else 403/404."""
    real = Path(os.path.realpath(path))
    if not any(real.is_relative_to(root) for root in roots):
        raise ServiceError(403, "the crop's image lies outside the folders this gallery was built from")
    if not real.is_file():
        raise ServiceError(404, "the crop's image file is gone from disk")
    return real
