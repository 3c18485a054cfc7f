"""Drawing in person units on a part-label image: polygons, ellipses, boxes and tapered limbs.

Coordinates are fractions of the person's height: x from the body axis, y from the top of the head, so body
proportions read directly in `body.py`. PIL draws the shapes; the fill is a part label, not a colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import ImageDraw

Point = tuple[float, float]


@dataclass
class Canvas:
    """Drawing helpers in person units: x relative to the body axis, y from the top of the head, 1 = stature."""

    draw: ImageDraw.ImageDraw
    cx: float
    top: float
    scale: float

    def xy(self, x: float, y: float) -> Point:
        return (self.cx + x * self.scale, self.top + y * self.scale)

    def poly(self, points: list[Point], part: int) -> None:
        self.draw.polygon([self.xy(x, y) for x, y in points], fill=part)

    def ellipse(self, x0: float, y0: float, x1: float, y1: float, part: int) -> None:
        (a, b), (c, d) = self.xy(x0, y0), self.xy(x1, y1)
        self.draw.ellipse((min(a, c), min(b, d), max(a, c), max(b, d)), fill=part)

    def rect(self, x0: float, y0: float, x1: float, y1: float, part: int) -> None:
        (a, b), (c, d) = self.xy(x0, y0), self.xy(x1, y1)
        self.draw.rectangle((min(a, c), min(b, d), max(a, c), max(b, d)), fill=part)

    def limb(self, start: Point, end: Point, width0: float, width1: float, part: int) -> None:
        """A tapered segment with round ends (an arm, a leg, a strap)."""
        (x0, y0), (x1, y1) = start, end
        length = max(np.hypot(x1 - x0, y1 - y0), 1e-6)
        nx, ny = -(y1 - y0) / length, (x1 - x0) / length
        h0, h1 = width0 / 2, width1 / 2
        self.poly(
            [
                (x0 + nx * h0, y0 + ny * h0),
                (x1 + nx * h1, y1 + ny * h1),
                (x1 - nx * h1, y1 - ny * h1),
                (x0 - nx * h0, y0 - ny * h0),
            ],
            part,
        )
        self.ellipse(x0 - h0, y0 - h0, x0 + h0, y0 + h0, part)
        self.ellipse(x1 - h1, y1 - h1, x1 + h1, y1 + h1, part)


def lerp(a: Point, b: Point, t: float) -> Point:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)
