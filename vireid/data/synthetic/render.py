"""One synthetic frame in one modality: background, person, lighting, optics and sensor.

The person's part-label map (`body.draw_person`) is looked up in the identity's colour table (visible) or
temperature table (infrared) and composited over a camera-specific background:

- visible: colours under the camera's white balance with per-frame illumination jitter, occasional low light,
  a mild blur and sensor noise;
- infrared: temperatures as grey levels (skin warm and bright, clothes per garment, a cool background with the
  odd warm object), automatic-gain jitter, a stronger blur, noise with row banding, and sometimes
  over-exposure: the person washes out and a bright bloom rises near the camera.

Both modalities add low-frequency shading (folds, light direction) on the body and random background clutter,
so neither pixels nor a single colour identify a person. Every strength follows the difficulty (`difficulty.py`).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from vireid.data.synthetic.body import SUPERSAMPLE, draw_person
from vireid.data.synthetic.difficulty import Nuisances, nuisances
from vireid.data.synthetic.identity import OCCLUDER, CameraStyle, Identity


def _smooth_field(rng: np.random.Generator, height: int, width: int, cells: int, amount: float) -> np.ndarray:
    """1 + amount * low-frequency noise, height x width (folds, uneven light)."""
    small = rng.normal(0.0, 1.0, size=(cells * 2, cells)).astype(np.float32)
    field = Image.fromarray(small, mode="F").resize((width, height), Image.Resampling.BILINEAR)
    return 1.0 + amount * np.asarray(field)


def _background(style: CameraStyle, n: Nuisances, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """height x width x 3 floats: a vertical gradient, a floor line and random boxes of clutter."""
    jitter = rng.uniform(0.85, 1.15, size=3) if style.modality == "visible" else np.full(3, rng.uniform(0.8, 1.2))
    top, bottom = style.top * jitter, style.bottom * jitter
    horizon = rng.uniform(0.45, 0.8)
    t = np.clip((np.arange(height, dtype=np.float32) / height - horizon + 0.1) / 0.2, 0.0, 1.0)[:, None, None]
    canvas = Image.fromarray(
        np.clip((top * (1 - t) + bottom * t) * np.ones((1, width, 1)) * 255, 0, 255).astype(np.uint8), mode="RGB"
    )
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(0, n.clutter + 1))):
        colour = style.clutter[rng.integers(len(style.clutter))] * rng.uniform(0.7, 1.2)
        if style.modality == "infrared" and rng.random() < 0.12:
            colour = np.full(3, rng.uniform(0.6, 0.95))  # a lamp, a radiator, a running engine
        x0, y0 = rng.uniform(-0.2, 1.0) * width, rng.uniform(-0.1, 0.9) * height
        x1, y1 = x0 + rng.uniform(0.1, 0.6) * width, y0 + rng.uniform(0.05, 0.5) * height
        behind = top if (y0 + y1) / 2 < horizon * height else bottom
        colour = behind + (colour - behind) * n.clutter_contrast
        draw.rectangle((x0, y0, x1, y1), fill=tuple(int(v) for v in np.clip(colour * 255, 0, 255)))
    return np.asarray(canvas, dtype=np.float32) / 255.0


def _downsample(array: np.ndarray) -> np.ndarray:
    """2 x 2 box average (four strided views: much faster than a reshape + mean)."""
    assert SUPERSAMPLE == 2
    return (array[0::2, 0::2] + array[1::2, 0::2] + array[0::2, 1::2] + array[1::2, 1::2]) * np.float32(0.25)


def render_frame(
    person: Identity,
    style: CameraStyle,
    geometry: np.random.Generator,
    appearance: np.random.Generator,
    height: int,
    width: int,
    view: str | None = None,
    strengths: Nuisances | None = None,
) -> tuple[Image.Image, str]:
    """One frame: an RGB image (visible) or an "L" image (infrared), and the viewpoint drawn.

    `geometry` draws the pose, framing and viewpoint, `appearance` everything else; RegDB shares `geometry`
    between the visible and thermal frame of a pair, as its two cameras were triggered together. `strengths`
    (default: the default difficulty) sets the nuisances; blur, noise and over-exposure come from `style`.
    """
    n = strengths or nuisances()
    labels, view = draw_person(person, geometry, height, width, view, n)
    visible = style.modality == "visible"
    table = (person.colours if visible else np.repeat(person.temperatures[:, None], 3, axis=1)).astype(np.float32)
    table[OCCLUDER] = style.clutter[appearance.integers(len(style.clutter))] * appearance.uniform(0.6, 1.1)
    alpha = _downsample((labels > 0).astype(np.float32))[..., None]
    # Label 0 (background) maps to zero, so the averaged colour is already premultiplied by the coverage.
    table[0] = 0.0
    person_rgb = _downsample(np.take(table, labels, axis=0))
    shading = _smooth_field(appearance, height, width, 3, n.shading)[..., None]
    # Light from one side and from above: the lit side and the shoulders are brighter.
    lean = appearance.uniform(-2, 2) * n.shading * (np.arange(width, dtype=np.float32) / width - 0.5)
    shading = shading * (1.0 + lean[None, :, None]) * np.linspace(1.06, 0.9, height, dtype=np.float32)[:, None, None]

    frame = _background(style, n, appearance, height, width) * (1.0 - alpha) + person_rgb * shading
    if visible:
        gains = (style.gains * appearance.uniform(0.92, 1.08, size=3)).astype(np.float32)
        brightness = style.brightness * appearance.uniform(1.0 - n.illumination, 1.0 + n.illumination)
        low_light = appearance.random() < n.low_light
        if low_light:
            brightness *= 0.5
        frame = frame * gains * brightness
        noise = appearance.uniform(*style.noise) * (2.0 if low_light else 1.0)
    else:
        # Automatic gain control: the same temperature maps to different grey levels from frame to frame.
        gain, offset = appearance.uniform(0.85, 1.15), appearance.uniform(-0.05, 0.05)
        if appearance.random() < style.overexposure:
            gain *= appearance.uniform(1.15, 1.5)
            frame = frame + _bloom(appearance, height, width)
        frame = frame * gain + offset
        noise = appearance.uniform(*style.noise)
    image = Image.fromarray(np.clip(frame * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="RGB")
    if not visible:
        image = image.convert("L")
    radius = appearance.uniform(*style.blur)
    if radius > 0.3:
        image = image.filter(ImageFilter.GaussianBlur(radius))
    pixels = np.asarray(image, dtype=np.float32)
    grain = appearance.standard_normal(pixels.shape, dtype=np.float32) * np.float32(noise * 255.0)
    if not visible:
        banding = appearance.normal(0.0, noise * 255.0 * n.banding, size=(pixels.shape[0], 1))
        grain += banding.astype(np.float32)  # row banding
    return Image.fromarray(np.clip(pixels + grain + 0.5, 0, 255).astype(np.uint8)), view


def _bloom(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A bright blob near the bottom of the frame: something close to the active-IR illuminator."""
    cy, cx = rng.uniform(0.6, 1.1) * height, rng.uniform(0.2, 0.8) * width
    radius = rng.uniform(0.3, 0.6) * height
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius**2))
    return (rng.uniform(0.15, 0.4) * blob)[..., None]
