"""How hard the capture conditions are: one number, `difficulty` in [0, 1], sets every nuisance strength.

Difficulty changes how the people are filmed, never who they are: for one seed the identities (shape, clothes,
patterns, accessories, colours, temperatures) are the same at every difficulty. Each strength interpolates
linearly between a clean end (0: frontal, well-framed, sharp, quiet sensors, plain backgrounds) and a hard end (1:
about as harsh as the first version of this generator, which a small model trained from scratch for a few minutes
could not match across modalities). The default is tuned for `vireid demo`: a resnet18 trained from scratch for
about 3 minutes on a 2-core CPU at 96 x 48 retrieves people across modalities clearly above chance, while an
untrained one stays at chance.
"""

from __future__ import annotations

from dataclasses import dataclass

from vireid.data.synthetic_defaults import DEFAULT_DIFFICULTY
from vireid.errors import VireidError


def _lerp(easy: float, hard: float, difficulty: float) -> float:
    return easy + (hard - easy) * difficulty


@dataclass(frozen=True)
class Nuisances:
    """Nuisance strengths at one difficulty (see each field); `nuisances(d)` builds them."""

    difficulty: float
    side_view: float
    """Probability of a side view (narrow silhouette, one arm); the rest are front / back."""
    framing: float
    """Crop jitter, 0..1: scale and position of the person in the crop (at 1 the head or feet may be cut off)."""
    occluder: float
    """Probability of a railing or pole between the camera and the person."""
    clutter: int
    """Most background boxes per frame."""
    clutter_contrast: float
    """How far background boxes stand out from the background (0: invisible, 1: their own colour)."""
    shading: float
    """Amplitude of the low-frequency shading on the body (folds, uneven light)."""
    illumination: float
    """Visible: half-range of the per-frame brightness jitter."""
    low_light: float
    """Visible: probability of a dim frame (half brightness, twice the noise)."""
    blur: float
    """Multiplier of each camera's blur radius range."""
    noise: float
    """Multiplier of each camera's sensor-noise range."""
    banding: float
    """Infrared row banding sigma, as a fraction of the sensor-noise sigma."""
    overexposure: float
    """Multiplier of each infrared camera's over-exposure probability (about 5% of frames at the default)."""


def nuisances(difficulty: float = DEFAULT_DIFFICULTY) -> Nuisances:
    """The nuisance strengths at `difficulty` (0 = clean, 1 = harsh; see the module doc)."""
    if not 0.0 <= difficulty <= 1.0:
        raise VireidError(f"--difficulty must be in 0..1, got {difficulty}")
    d = float(difficulty)
    return Nuisances(
        difficulty=d,
        side_view=_lerp(0.02, 0.2, d),
        framing=_lerp(0.1, 1.0, d),
        occluder=_lerp(0.0, 0.1, d),
        clutter=round(_lerp(1, 8, d)),
        clutter_contrast=_lerp(0.25, 1.0, d),
        shading=_lerp(0.04, 0.14, d),
        illumination=_lerp(0.08, 0.22, d),
        low_light=_lerp(0.02, 0.12, d),
        blur=_lerp(0.4, 1.1, d),
        noise=_lerp(0.35, 1.1, d),
        banding=_lerp(0.1, 0.45, d),
        overexposure=_lerp(0.2, 1.2, d),
    )
