"""A real photo for upload tests: a PNG that Pillow can read and thumbnail."""
from __future__ import annotations

import io

from PIL import Image


def png(width: int = 640, height: int = 480, colour=(20, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()
