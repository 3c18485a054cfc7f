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
    the framing varies.
    """
    n = strengths or nuisances()
    if view is None:
        view = str(rng.choice(VIEWS, p=[(1 - n.side_view) * 0.53, (1 - n.side_view) * 0.47, n.side_view]))
    big_h, big_w = height * SUPERSAMPLE, width * SUPERSAMPLE
    labels = Image.new("L", (big_w, big_h), 0)
    f = n.framing  # at 1: scale 0.9..1.03 of the stature, anywhere in the frame, head or feet sometimes cut off
    scale = person.stature * rng.uniform(1.0 - 0.1 * f, 1.0 + 0.03 * f) * big_h
    top = (big_h - scale) * rng.uniform(0.5 - 0.35 * f, 0.5 + 0.35 * f) + rng.normal(0.0, 0.025 * f) * big_h
    cx = big_w / 2 + rng.uniform(-0.1 * f, 0.1 * f) * big_w
    c = Canvas(ImageDraw.Draw(labels), cx, top, scale)

    side = view == "side"
    facing = 1 if rng.random() < 0.5 else -1  # side views face left or right
    head, shoulder_y, hip_y = person.head, person.head + 0.03, 1.0 - person.legs
    ankle_y = 0.965
    knee_y = (hip_y + ankle_y) / 2
    shoulder = person.shoulders / 2 * (0.5 if side else 1.0)
    hip = person.shoulders * person.hips / 2 * (0.55 if side else 1.0)
    limb = person.limbs
    leg_width = person.shoulders * person.hips / 2 * 0.95
    head_w = head * (0.85 if side else 0.76)
    # Seen from the back, the left and right of the person swap in the image.
    bag_side = person.bag_side * (-1 if view == "back" else 1) if not side else facing

    # Behind the body: a backpack seen from the side.
    if person.accessory == "backpack" and side:
        depth = 0.1 * person.bag_size
        c.rect(-facing * (shoulder + depth), shoulder_y + 0.03, -facing * shoulder * 0.5, hip_y - 0.08, BAG)

    # Legs: lower garment, then skin below shorts / a skirt, then shoes.
    stride = rng.uniform(0.03, 0.13) if side else rng.uniform(-0.015, 0.04)
    if side:
        feet = [(-facing * stride, ankle_y), (facing * stride, ankle_y)]
        hips_at = [(0.0, hip_y), (0.0, hip_y)]
    else:
        feet = [(-leg_width / 2 - stride, ankle_y), (leg_width / 2 + stride, ankle_y)]
        hips_at = [(-leg_width / 2, hip_y), (leg_width / 2, hip_y)]
    for hip_point, foot in zip(hips_at, feet, strict=True):
        cover = {"trousers": 1.0, "shorts": 0.42, "skirt": 0.0}[person.lower]
        c.limb(hip_point, foot, leg_width, leg_width * 0.62, SKIN)
        if cover > 0:
            c.limb(hip_point, lerp(hip_point, foot, cover), leg_width * 1.04, leg_width * (1.0 - 0.38 * cover), LOWER)
            if person.lower_pattern == "stripe":
                outer = (-1 if foot[0] < 0 else 1) * leg_width * 0.38
                end = lerp(hip_point, foot, cover)
                c.limb(
                    (hip_point[0] + outer, hip_point[1] + 0.01),
                    (end[0] + outer * 0.65, end[1]),
                    0.035,
                    0.03,
                    LOWER_ACCENT,
                )
            elif person.lower_pattern == "cuffs":
                c.limb(
                    lerp(hip_point, foot, cover - 0.1),
                    lerp(hip_point, foot, cover),
                    leg_width,
                    leg_width * 0.8,
                    LOWER_ACCENT,
                )
        shoe_front = 0.07 * facing if side else 0.0
        c.ellipse(foot[0] - leg_width * 0.4, ankle_y - 0.025, foot[0] + leg_width * 0.4 + shoe_front, 1.0, SHOES)
    if person.lower == "skirt":
        flare = hip * (1.25 if side else 1.35)
        c.poly([(-hip, hip_y - 0.03), (hip, hip_y - 0.03), (flare, knee_y - 0.02), (-flare, knee_y - 0.02)], LOWER)
        if person.lower_pattern != "plain":
            c.poly(
                [
                    (-flare * 0.97, knee_y - 0.06),
                    (flare * 0.97, knee_y - 0.06),
                    (flare, knee_y - 0.02),
                    (-flare, knee_y - 0.02),
                ],
                LOWER_ACCENT,
            )

    # Torso with its pattern.
    torso_top = shoulder_y + 0.005
    torso_bottom = hip_y + (0.035 if person.lower != "skirt" else 0.0)
    hem = hip * 1.03
    if person.coat:  # a long top down to mid-thigh, slightly flared
        torso_bottom, hem = hip_y + (knee_y - hip_y) * 0.65, hip * 1.2
    torso = [(-shoulder, torso_top), (shoulder, torso_top), (hem, torso_bottom), (-hem, torso_bottom)]
    c.poly(torso, TOP)
    r = limb * 0.55  # rounded shoulders, inside the shoulder line
    for sign in (-1, 1):
        x = sign * (shoulder - r * 0.6)
        c.ellipse(x - r, torso_top - r * 0.35, x + r, torso_top + r * 1.5, TOP)
    _draw_top_pattern(c, person, rng, view, labels, torso, torso_top, torso_bottom, shoulder)
    if person.belt and person.lower != "skirt" and not person.coat:
        c.rect(-hip * 1.03, hip_y - 0.018, hip * 1.03, hip_y + 0.018, SHOES)  # leather, like the shoes

    # Backpack from the back covers the pattern; straps from the front.
    if person.accessory == "backpack" and view == "back":
        w = shoulder * 0.72 * person.bag_size
        c.rect(-w, shoulder_y + 0.03, w, shoulder_y + (hip_y - shoulder_y) * 0.8, BAG)
    elif person.accessory == "backpack" and view == "front":
        for sign in (-1, 1):
            c.limb(
                (sign * shoulder * 0.55, torso_top),
                (sign * shoulder * 0.62, (torso_top + hip_y) / 2),
                0.032,
                0.032,
                BAG,
            )

    # Arms (one from the side), with skin forearms for short sleeves and skin hands.
    swing = rng.uniform(-0.08, 0.08)
    wrist_y = hip_y + 0.06
    arms: list[tuple[float, float]] = [(0.0, facing * swing * 1.4)] if side else [(-1, swing * 0.4), (1, -swing * 0.4)]
    for arm_side, dx in arms:
        start = (arm_side * (shoulder - limb * 0.35), torso_top + limb * 0.45)
        spread = 0.0 if side else arm_side * rng.uniform(0.0, 0.035)
        wrist = (start[0] + spread + dx, wrist_y)
        c.limb(start, wrist, limb, limb * 0.8, SKIN)
        sleeve = {"long": 0.95, "short": 0.42, "none": 0.12}[person.sleeves]
        c.limb(start, lerp(start, wrist, sleeve), limb * 1.1, limb * 0.9, TOP)
        c.ellipse(wrist[0] - limb * 0.42, wrist_y - limb * 0.3, wrist[0] + limb * 0.42, wrist_y + limb * 0.6, SKIN)

    # Bags that hang at the side.
    if person.accessory == "shoulder_bag":
        size = 0.13 * person.bag_size
        x = bag_side * (hip + size * 0.25) if not side else -facing * hip * 0.3
        c.limb((-bag_side * shoulder * 0.6, torso_top), (x, hip_y - 0.03), 0.026, 0.026, BAG)
        c.rect(x - size / 2, hip_y - 0.04, x + size / 2, hip_y - 0.04 + size * 0.85, BAG)
    elif person.accessory == "handbag":
        size = 0.12 * person.bag_size
        x = bag_side * (shoulder + 0.02) if not side else facing * swing * 1.4
        c.rect(x - size / 2, wrist_y + 0.02, x + size / 2, wrist_y + 0.02 + size * 0.8, BAG)

    _draw_head(c, person, view, facing, head, head_w, shoulder_y)
    if rng.random() < n.occluder:
        _draw_occluder(c.draw, rng, big_h, big_w)
    return np.asarray(labels), view


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
    pattern = person.top_pattern
    if pattern == "plain" or (pattern in ("logo", "open") and view == "back"):
        return
    if pattern == "open":
        # An open jacket over a shirt: a band down the front (seen edge-on from the side).
        band = shoulder * person.logo_size * (0.35 if view == "side" else 0.7)
        x = shoulder - band if view == "side" else 0.0
        c.poly(
            [
                (x - band, torso_top),
                (x + band, torso_top),
                (x + band * 1.1, torso_bottom),
                (x - band * 1.1, torso_bottom),
            ],
            TOP_ACCENT,
        )
        return
    if pattern == "logo" and view != "front":
        return
    if pattern == "logo":
        size = person.logo_size * shoulder
        cy = torso_top + (torso_bottom - torso_top) * 0.35
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
        return
    # Stripes and checks: a stripe mask clipped to the torso polygon.
    mask = Image.new("L", labels.size, 0)
    stripes = ImageDraw.Draw(mask)
    period = person.stripe_period * c.scale
    phase = rng.uniform(0.0, period)
    x0, y0 = c.xy(-shoulder * 1.5, torso_top)
    x1, y1 = c.xy(shoulder * 1.5, torso_bottom)
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
