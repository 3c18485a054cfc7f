"""The geometry of one synthetic frame: a person drawn as a map of part labels, for a given viewpoint.

The same code draws both modalities, so silhouette, proportions, patterns, hair, hat and bag agree across
visible and infrared. What changes per frame: the viewpoint (front shows the face, a logo and backpack straps;
back shows the hair, the backpack itself and no logo; side shows a narrow silhouette with one arm, a striding
pose and a bag bump), the scale, the position in the crop (at a high difficulty the head or feet may be cut
off), the pose (stride, arm swing) and the stripe phase. The map is drawn at 2x and averaged down later, which
antialiases the edges. How often side views and occluders occur and how much the framing varies follow the
difficulty (`difficulty.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from vireid.data.synthetic.canvas import Canvas, Point, lerp
from vireid.data.synthetic.difficulty import Nuisances, nuisances
from vireid.data.synthetic.identity import (
    BAG,
    HAIR,
    HAT,
    LOWER,
    LOWER_ACCENT,
    OCCLUDER,
    SHOES,
    SKIN,
    TOP,
    TOP_ACCENT,
    Identity,
)

SUPERSAMPLE = 2
VIEWS = ("front", "back", "side")


@dataclass(frozen=True)
class Figure:
    """Where one drawing's body parts sit, in units of the person's stature (x from the centre line)."""

    view: str
    facing: int
    """Side views face left (-1) or right (1)."""
    head: float
    head_w: float
    shoulder_y: float
    hip_y: float
    shoulder: float
    """Half the shoulder width as seen from this view."""
    hip: float
    limb: float
    leg_width: float
    bag_side: float
    """Which side of the image a bag hangs on (seen from the back, the person's left and right swap)."""
    ankle_y: float = 0.965

    @property
    def side(self) -> bool:
        return self.view == "side"

    @property
    def knee_y(self) -> float:
        return (self.hip_y + self.ankle_y) / 2

    @property
    def torso_top(self) -> float:
        return self.shoulder_y + 0.005


def _figure(person: Identity, view: str, rng: np.random.Generator) -> Figure:
    side = view == "side"
    facing = 1 if rng.random() < 0.5 else -1
    shoulder = person.shoulders / 2 * (0.5 if side else 1.0)
    return Figure(
        view=view,
        facing=facing,
        head=person.head,
        head_w=person.head * (0.85 if side else 0.76),
        shoulder_y=person.head + 0.03,
        hip_y=1.0 - person.legs,
        shoulder=shoulder,
        hip=person.shoulders * person.hips / 2 * (0.55 if side else 1.0),
        limb=person.limbs,
        leg_width=person.shoulders * person.hips / 2 * 0.95,
        bag_side=person.bag_side * (-1 if view == "back" else 1) if not side else facing,
    )


def _canvas(person: Identity, rng: np.random.Generator, labels: Image.Image, framing: float) -> Canvas:
    """The drawing frame: at `framing` 1, scale 0.9..1.03 of the stature, anywhere in the frame, head or feet
    sometimes cut off."""
    big_w, big_h = labels.size
    f = framing
    scale = person.stature * rng.uniform(1.0 - 0.1 * f, 1.0 + 0.03 * f) * big_h
    top = (big_h - scale) * rng.uniform(0.5 - 0.35 * f, 0.5 + 0.35 * f) + rng.normal(0.0, 0.025 * f) * big_h
    cx = big_w / 2 + rng.uniform(-0.1 * f, 0.1 * f) * big_w
    return Canvas(ImageDraw.Draw(labels), cx, top, scale)


def draw_person(
    person: Identity,
    rng: np.random.Generator,
    height: int,
    width: int,
    view: str | None = None,
    strengths: Nuisances | None = None,
) -> tuple[np.ndarray, str]:
    """Label map (SUPERSAMPLE*height x SUPERSAMPLE*width, uint8 part labels, 0 = background) and the view.

    `strengths` (default: the default difficulty) sets how often side views and occluders occur and how much
    the framing varies. The parts are drawn back to front; the order of the random draws is part of the
    dataset (a seed must keep giving the same images).
    """
    n = strengths or nuisances()
    if view is None:
        view = str(rng.choice(VIEWS, p=[(1 - n.side_view) * 0.53, (1 - n.side_view) * 0.47, n.side_view]))
    labels = Image.new("L", (width * SUPERSAMPLE, height * SUPERSAMPLE), 0)
    c = _canvas(person, rng, labels, n.framing)
    fig = _figure(person, view, rng)
    if person.accessory == "backpack" and fig.side:  # behind the body
        depth = 0.1 * person.bag_size
        x = -fig.facing * (fig.shoulder + depth), -fig.facing * fig.shoulder * 0.5
        c.rect(x[0], fig.shoulder_y + 0.03, x[1], fig.hip_y - 0.08, BAG)
    _draw_legs(c, person, fig, rng)
    _draw_torso(c, person, fig, rng, labels)
    _draw_backpack(c, person, fig)
    swing = _draw_arms(c, person, fig, rng)
    _draw_hanging_bag(c, person, fig, swing)
    _draw_head(c, person, view, fig.facing, fig.head, fig.head_w, fig.shoulder_y)
    if rng.random() < n.occluder:
        _draw_occluder(c.draw, rng, labels.size[1], labels.size[0])
    return np.asarray(labels), view


def _draw_legs(c: Canvas, person: Identity, fig: Figure, rng: np.random.Generator) -> None:
    """Lower garment, then skin below shorts or a skirt, then shoes; a skirt over the legs."""
    leg_width, ankle_y, hip_y = fig.leg_width, fig.ankle_y, fig.hip_y
    stride = rng.uniform(0.03, 0.13) if fig.side else rng.uniform(-0.015, 0.04)
    if fig.side:
        feet = [(-fig.facing * stride, ankle_y), (fig.facing * stride, ankle_y)]
        hips_at = [(0.0, hip_y), (0.0, hip_y)]
    else:
        feet = [(-leg_width / 2 - stride, ankle_y), (leg_width / 2 + stride, ankle_y)]
        hips_at = [(-leg_width / 2, hip_y), (leg_width / 2, hip_y)]
    for hip_point, foot in zip(hips_at, feet, strict=True):
        cover = {"trousers": 1.0, "shorts": 0.42, "skirt": 0.0}[person.lower]
        c.limb(hip_point, foot, leg_width, leg_width * 0.62, SKIN)
        if cover > 0:
            c.limb(hip_point, lerp(hip_point, foot, cover), leg_width * 1.04, leg_width * (1.0 - 0.38 * cover), LOWER)
            _draw_leg_pattern(c, person, hip_point, foot, cover, leg_width)
        shoe_front = 0.07 * fig.facing if fig.side else 0.0
        c.ellipse(foot[0] - leg_width * 0.4, ankle_y - 0.025, foot[0] + leg_width * 0.4 + shoe_front, 1.0, SHOES)
    if person.lower == "skirt":
        flare = fig.hip * (1.25 if fig.side else 1.35)
        knee_y = fig.knee_y
        waist = hip_y - 0.03
        c.poly([(-fig.hip, waist), (fig.hip, waist), (flare, knee_y - 0.02), (-flare, knee_y - 0.02)], LOWER)
        if person.lower_pattern != "plain":
            band = knee_y - 0.06
            c.poly(
                [(-flare * 0.97, band), (flare * 0.97, band), (flare, knee_y - 0.02), (-flare, knee_y - 0.02)],
                LOWER_ACCENT,
            )


def _draw_leg_pattern(c: Canvas, person: Identity, hip_point: Point, foot: Point, cover: float, width: float) -> None:
    """A stripe down the outer side of the trouser leg, or a cuff at its end."""
    if person.lower_pattern == "stripe":
        outer = (-1 if foot[0] < 0 else 1) * width * 0.38
        end = lerp(hip_point, foot, cover)
        c.limb((hip_point[0] + outer, hip_point[1] + 0.01), (end[0] + outer * 0.65, end[1]), 0.035, 0.03, LOWER_ACCENT)
    elif person.lower_pattern == "cuffs":
        c.limb(lerp(hip_point, foot, cover - 0.1), lerp(hip_point, foot, cover), width, width * 0.8, LOWER_ACCENT)


def _draw_torso(c: Canvas, person: Identity, fig: Figure, rng: np.random.Generator, labels: Image.Image) -> None:
    """The top (to mid-thigh and flared for a coat) with rounded shoulders, its pattern, and a belt."""
    torso_top, hip, hip_y = fig.torso_top, fig.hip, fig.hip_y
    torso_bottom = hip_y + (0.035 if person.lower != "skirt" else 0.0)
    hem = hip * 1.03
    if person.coat:
        torso_bottom, hem = hip_y + (fig.knee_y - hip_y) * 0.65, hip * 1.2
    torso = [(-fig.shoulder, torso_top), (fig.shoulder, torso_top), (hem, torso_bottom), (-hem, torso_bottom)]
    c.poly(torso, TOP)
    r = fig.limb * 0.55  # rounded shoulders, inside the shoulder line
    for sign in (-1, 1):
        x = sign * (fig.shoulder - r * 0.6)
        c.ellipse(x - r, torso_top - r * 0.35, x + r, torso_top + r * 1.5, TOP)
    _draw_top_pattern(c, person, rng, fig.view, labels, torso, torso_top, torso_bottom, fig.shoulder)
    if person.belt and person.lower != "skirt" and not person.coat:
        c.rect(-hip * 1.03, hip_y - 0.018, hip * 1.03, hip_y + 0.018, SHOES)  # leather, like the shoes


def _draw_backpack(c: Canvas, person: Identity, fig: Figure) -> None:
    """From the back the backpack covers the pattern; from the front only its straps show."""
    if person.accessory != "backpack":
        return
    if fig.view == "back":
        w = fig.shoulder * 0.72 * person.bag_size
        c.rect(-w, fig.shoulder_y + 0.03, w, fig.shoulder_y + (fig.hip_y - fig.shoulder_y) * 0.8, BAG)
    elif fig.view == "front":
        for sign in (-1, 1):
            top = (sign * fig.shoulder * 0.55, fig.torso_top)
            c.limb(top, (sign * fig.shoulder * 0.62, (fig.torso_top + fig.hip_y) / 2), 0.032, 0.032, BAG)


def _draw_arms(c: Canvas, person: Identity, fig: Figure, rng: np.random.Generator) -> float:
    """Both arms (one from the side), skin forearms below short sleeves, skin hands; returns the arm swing."""
    swing = rng.uniform(-0.08, 0.08)
    wrist_y, limb = fig.hip_y + 0.06, fig.limb
    if fig.side:
        arms: list[tuple[float, float]] = [(0.0, fig.facing * swing * 1.4)]
    else:
        arms = [(-1, swing * 0.4), (1, -swing * 0.4)]
    for arm_side, dx in arms:
        start = (arm_side * (fig.shoulder - limb * 0.35), fig.torso_top + limb * 0.45)
        spread = 0.0 if fig.side else arm_side * rng.uniform(0.0, 0.035)
        wrist = (start[0] + spread + dx, wrist_y)
        c.limb(start, wrist, limb, limb * 0.8, SKIN)
        sleeve = {"long": 0.95, "short": 0.42, "none": 0.12}[person.sleeves]
        c.limb(start, lerp(start, wrist, sleeve), limb * 1.1, limb * 0.9, TOP)
        c.ellipse(wrist[0] - limb * 0.42, wrist_y - limb * 0.3, wrist[0] + limb * 0.42, wrist_y + limb * 0.6, SKIN)
    return float(swing)


def _draw_hanging_bag(c: Canvas, person: Identity, fig: Figure, swing: float) -> None:
    """A shoulder bag on its strap at the hip, or a handbag held at the wrist."""
    hip_y, bag_side = fig.hip_y, fig.bag_side
    if person.accessory == "shoulder_bag":
        size = 0.13 * person.bag_size
        x = bag_side * (fig.hip + size * 0.25) if not fig.side else -fig.facing * fig.hip * 0.3
        c.limb((-bag_side * fig.shoulder * 0.6, fig.torso_top), (x, hip_y - 0.03), 0.026, 0.026, BAG)
        c.rect(x - size / 2, hip_y - 0.04, x + size / 2, hip_y - 0.04 + size * 0.85, BAG)
    elif person.accessory == "handbag":
        size = 0.12 * person.bag_size
        wrist_y = hip_y + 0.06
        x = bag_side * (fig.shoulder + 0.02) if not fig.side else fig.facing * swing * 1.4
        c.rect(x - size / 2, wrist_y + 0.02, x + size / 2, wrist_y + 0.02 + size * 0.8, BAG)


def _draw_top_pattern(
    c: Canvas,
    person: Identity,
    rng: np.random.Generator,
    view: str,
    labels: Image.Image,
    torso: list[Point],
    torso_top: float,
    torso_bottom: float,
    shoulder: float,
) -> None:
    """The top's pattern: an open jacket's band or a logo on the front, stripes or checks on every view."""
    pattern = person.top_pattern
    if pattern == "plain" or (pattern in ("logo", "open") and view == "back"):
        return
    if pattern == "open":
        # An open jacket over a shirt: a band down the front (seen edge-on from the side).
        band = shoulder * person.logo_size * (0.35 if view == "side" else 0.7)
        x = shoulder - band if view == "side" else 0.0
        corners = [(x - band, torso_top), (x + band, torso_top)]
        corners += [(x + band * 1.1, torso_bottom), (x - band * 1.1, torso_bottom)]
        c.poly(corners, TOP_ACCENT)
    elif pattern == "logo" and view == "front":
        _draw_logo(c, person, torso_top + (torso_bottom - torso_top) * 0.35, person.logo_size * shoulder)
    elif pattern != "logo":
        _draw_stripes(c, person, rng, view, labels, torso, (torso_top, torso_bottom), shoulder)


def _draw_logo(c: Canvas, person: Identity, cy: float, size: float) -> None:
    shapes = {
        "circle": None,
        "square": [(-size, cy - size), (size, cy - size), (size, cy + size), (-size, cy + size)],
        "triangle": [(0.0, cy - size), (size, cy + size * 0.8), (-size, cy + size * 0.8)],
        "diamond": [(0.0, cy - size * 1.2), (size, cy), (0.0, cy + size * 1.2), (-size, cy)],
    }
    points = shapes[person.logo]
    if points is None:
        c.ellipse(-size, cy - size, size, cy + size, TOP_ACCENT)
    else:
        c.poly(points, TOP_ACCENT)


def _draw_stripes(
    c: Canvas,
    person: Identity,
    rng: np.random.Generator,
    view: str,
    labels: Image.Image,
    torso: list[Point],
    span: tuple[float, float],
    shoulder: float,
) -> None:
    """Stripes and checks: a stripe mask clipped to the torso polygon."""
    pattern = person.top_pattern
    mask = Image.new("L", labels.size, 0)
    stripes = ImageDraw.Draw(mask)
    period = person.stripe_period * c.scale
    phase = rng.uniform(0.0, period)
    x0, y0 = c.xy(-shoulder * 1.5, span[0])
    x1, y1 = c.xy(shoulder * 1.5, span[1])
    if pattern in ("hstripes", "checks"):
        for y in np.arange(y0 - phase, y1, period):
            stripes.rectangle((x0, y, x1, y + period / 2), fill=255)
    if pattern in ("vstripes", "checks"):
        vertical = Image.new("L", labels.size, 0) if pattern == "checks" else mask
        draw = ImageDraw.Draw(vertical)
        for x in np.arange(x0 - phase, x1, period * (0.6 if view == "side" else 1.0)):
            draw.rectangle((x, y0, x + period / 2, y1), fill=255)
        if pattern == "checks":
            mask = ImageChops.difference(mask, vertical)
    region = Image.new("L", labels.size, 0)
    ImageDraw.Draw(region).polygon([c.xy(x, y) for x, y in torso], fill=255)
    labels.paste(TOP_ACCENT, mask=ImageChops.multiply(mask, region))


def _draw_head(c: Canvas, person: Identity, view: str, facing: int, head: float, head_w: float, neck: float) -> None:
    half = head_w / 2
    hair_end = {"short": None, "medium": head * 1.05, "long": neck + (0.12 if view == "back" else 0.09)}[person.hair]
    c.rect(-half * 0.42, head * 0.8, half * 0.42, neck + 0.01, SKIN)  # neck
    if hair_end is not None:
        back = -facing * half * 0.35 if view == "side" else 0.0
        c.rect(back - half * 1.12, head * 0.4, back + half * 1.12, hair_end, HAIR)
    c.ellipse(-half * 1.04, -0.008, half * 1.04, head * 0.75, HAIR)
    if view == "back":
        c.ellipse(-half, 0.0, half, head, HAIR)
    elif view == "front":
        c.ellipse(-half, 0.0, half, head, HAIR)
        c.ellipse(-half * 0.86, head * 0.28, half * 0.86, head, SKIN)
    else:
        c.ellipse(-half, 0.0, half, head, HAIR)
        c.ellipse(
            -half * 0.55 + facing * half * 0.3, head * 0.3, half * 0.75 * facing + facing * half * 0.3, head, SKIN
        )
        c.ellipse(facing * half * 0.2, head * 0.25, facing * half * 1.08, head * 0.95, SKIN)
    if person.hat == "cap":
        c.ellipse(-half * 1.05, -0.012, half * 1.05, head * 0.42, HAT)
        brim = (facing * half * 1.55, facing * half * 0.2) if view == "side" else (-half * 1.1, half * 1.1)
        c.rect(min(brim), head * 0.3, max(brim), head * 0.38, HAT)
    elif person.hat == "beanie":
        c.ellipse(-half * 1.06, -0.02, half * 1.06, head * 0.55, HAT)
        c.rect(-half * 1.06, head * 0.3, half * 1.06, head * 0.42, HAT)


def _draw_occluder(draw: ImageDraw.ImageDraw, rng: np.random.Generator, big_h: int, big_w: int) -> None:
    """Something between the camera and the person: a railing / bench in front of the legs, or a pole."""
    if rng.random() < 0.6:
        y = big_h * rng.uniform(0.62, 0.85)
        x0 = big_w * rng.uniform(-0.3, 0.3)
        draw.rectangle((x0, y, x0 + big_w * rng.uniform(0.7, 1.3), big_h), fill=OCCLUDER)
    else:
        x = big_w * rng.uniform(0.0, 0.9)
        draw.rectangle((x, 0, x + big_w * rng.uniform(0.06, 0.14), big_h), fill=OCCLUDER)
