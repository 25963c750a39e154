"""Draw the report app's icons (web/static/icons/*.png) after the favicon's design: the grid and
the yellow point on the night-blue square. Run it again after changing the design:

    .venv/bin/python tools/make-app-icons.py
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "web" / "static" / "icons"
NIGHT, WHITE, YELLOW = (16, 42, 67), (255, 255, 255), (240, 180, 41)


def icon(size: int, *, maskable: bool) -> Image.Image:
    """The favicon drawn at ``size`` px (4x supersampled); a maskable icon keeps the drawing inside
    the central 80 % that every launcher's mask leaves and fills the whole square."""
    big = size * 4
    image = Image.new("RGBA", (big, big), NIGHT if maskable else (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    unit = big / (40 if maskable else 32)  # the favicon's 32-unit box, inset for the mask
    inset = 4 * unit if maskable else 0
    at = lambda v: inset + v * unit  # noqa: E731
    if not maskable:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=6 * unit, fill=NIGHT)
    line = round(2 * unit)
    draw.rectangle((at(6), at(6), at(26), at(26)), outline=WHITE, width=line)
    draw.line((at(16), at(6), at(16), at(26)), fill=WHITE, width=line)
    draw.line((at(6), at(16), at(26), at(16)), fill=WHITE, width=line)
    draw.ellipse((at(18), at(8), at(24), at(14)), fill=YELLOW)
    return image.resize((size, size), Image.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        icon(size, maskable=False).save(OUT / f"report-{size}.png", optimize=True)
        icon(size, maskable=True).save(OUT / f"report-maskable-{size}.png", optimize=True)


if __name__ == "__main__":
    main()
