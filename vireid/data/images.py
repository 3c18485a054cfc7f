"""Decoding one dataset image into the RGB picture every model input starts from.

Visible images are converted to RGB. Infrared images (SYSU-MM01 cameras 3 and 6, RegDB thermal) are read as
grey and replicated to three channels, whatever their storage mode, so the infrared branch always sees
R == G == B (docs/architecture.md, "The model"). A truncated or undecodable file is a `VireidError` naming
the path instead of a PIL traceback from a DataLoader worker.
"""

from __future__ import annotations

from PIL import Image

from vireid.data.sample import Modality
from vireid.errors import VireidError

# Errors Pillow raises for unreadable files: OSError (missing, truncated, unidentified), SyntaxError (some
# malformed headers), ValueError (bad sizes), DecompressionBombError (absurd sizes).
DECODE_ERRORS: tuple[type[BaseException], ...] = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)


def load_image(path: str, modality: Modality) -> Image.Image:
    """Decode `path` fully and return an RGB image (grey replicated to 3 channels for infrared)."""
    try:
        with Image.open(path) as img:
            # Image.open only reads the header; load() decodes every byte, so truncation is caught here.
            img.load()
            if modality == "infrared":
                return img.convert("L").convert("RGB")
            return img.convert("RGB")
    except DECODE_ERRORS as err:
        raise VireidError(f"cannot read image {path}: {err}; run `vireid data check` on the dataset") from None
