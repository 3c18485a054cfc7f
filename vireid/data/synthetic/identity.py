"""What stays fixed for one synthetic person, and what stays fixed for one camera.

An identity is drawn once from `(seed, pid)`: body shape, clothes, patterns, hair, hat and bag are shared by
both modalities, which is what a cross-modal model has to learn to match. Garment *colours* only exist in the
visible images; the infrared images show per-garment *temperatures* (grey levels). A dye's infrared level is
mostly its own (`IrReflectance`): real dyes often reflect near-infrared however dark they look, so by default
(`DEFAULT_IR_COUPLING` = 0.3) a garment's infrared level follows its visible lightness only weakly, and never
its hue; a few dyes reflect infrared and read bright whatever their colour. So what a model can match across
modalities is the shape, the patterns, the accessories, pose and body, and only a little of the lightness
layout. At `--ir-coupling 1` the infrared image is close to a greyscale copy of the visible one (the
generator's first rule, a shortcut the demo learned through).

Rendering writes a map of part labels (the constants below) and looks each label up in the identity's colour
or temperature table, so both modalities share one geometry code path.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, field

import numpy as np

from vireid.data.sample import Modality
from vireid.data.synthetic.difficulty import Nuisances, nuisances
from vireid.data.synthetic_defaults import DEFAULT_IR_COUPLING

# Part labels of the rendered label map; colour and temperature tables are indexed by them.
BACKGROUND, SKIN, HAIR, TOP, TOP_ACCENT, LOWER, LOWER_ACCENT, SHOES, BAG, HAT, OCCLUDER = range(11)
N_PARTS = 11

TOP_PATTERNS = ("plain", "hstripes", "vstripes", "checks", "logo", "open")
LOWER_PATTERNS = ("plain", "stripe", "cuffs")
SLEEVES = ("long", "short", "none")
# Infrared: how much warmer a thin top (by sleeve length; a coat: -0.06) or a short lower garment reads.
_TOP_WARMTH = {"long": 0.0, "short": 0.03, "none": 0.05}
_LOWER_WARMTH = {"trousers": 0.0, "shorts": 0.03, "skirt": 0.03}
# Infrared: the share of garments dyed with something that reflects infrared (bright whatever their colour).
_IR_BRIGHT_DYE = 0.03
LOGOS = ("circle", "triangle", "square", "diamond")
ACCESSORIES = ("none", "backpack", "shoulder_bag", "handbag")

# Skin tones (RGB) from light to dark; visible only, infrared skin is simply warm.
_SKIN_TONES = np.array(
    [[0.96, 0.80, 0.69], [0.91, 0.72, 0.58], [0.80, 0.60, 0.45], [0.66, 0.47, 0.34], [0.45, 0.31, 0.22]],
    dtype=np.float32,
)
_HAIR_COLOURS = np.array(
    [[0.08, 0.07, 0.06], [0.15, 0.11, 0.08], [0.30, 0.20, 0.12], [0.55, 0.42, 0.25], [0.80, 0.68, 0.45]],
    dtype=np.float32,
)


@dataclass(frozen=True, eq=False)
class Identity:
    """One person's invariant attributes. Lengths are fractions of the person's height."""

    pid: int
    female: bool
    stature: float
    """Person height / image height, before the per-image scale jitter."""
    shoulders: float
    hips: float
    """Hip width / shoulder width."""
    head: float
    legs: float
    limbs: float
    """Arm thickness."""
    sleeves: str
    """"long", "short" (forearms show skin: warm in infrared) or "none" (bare arms)."""
    coat: bool
    """A long top (coat, long cardigan) that reaches the middle of the thighs."""
    lower: str
    """"trousers", "shorts" or "skirt"."""
    top_pattern: str
    stripe_period: float
    logo: str
    logo_size: float
    """Logo width / torso width (front only); also the width of an open jacket's front band."""
    lower_pattern: str
    belt: bool
    hair: str
    """"short", "medium" or "long"."""
    hat: str
    """"none", "cap" or "beanie"."""
    accessory: str
    bag_side: int
    """+1 or -1: the side (seen from the front) a shoulder bag or handbag hangs on."""
    bag_size: float
    colours: np.ndarray = field(repr=False)
    """N_PARTS x 3 RGB in [0, 1], visible modality only."""
    temperatures: np.ndarray = field(repr=False)
    """N_PARTS grey levels in [0, 1], infrared modality only."""


def _garment_colour(rng: np.random.Generator) -> tuple[float, float, float]:
    # Half of real clothing is black / grey / white; the rest is coloured, often muted.
    if rng.random() < 0.5:
        value = float(rng.choice([0.08, 0.2, 0.4, 0.6, 0.85])) + rng.uniform(-0.05, 0.05)
        return colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.0, 0.08), value)
    return colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.3, 0.95), rng.uniform(0.25, 0.95))


def _accent_colour(rng: np.random.Generator, base: tuple[float, float, float]) -> tuple[float, float, float]:
    # An accent differs from its base in hue or brightness enough to be seen.
    for _ in range(20):
        accent = _garment_colour(rng)
        if float(np.abs(np.subtract(accent, base)).sum()) > 0.45:
            return accent
    return (1.0 - base[0], 1.0 - base[1], 1.0 - base[2])


def _lightness(rgb: np.ndarray) -> float:
    return float(np.dot(rgb, (0.3, 0.59, 0.11)))


_IR_DYE_STREAM = 0x1B
"""Seeds the dyes' own infrared reflectance, apart from every other draw: at coupling 1 nothing else moves."""


class IrReflectance:
    """How light a dye reads in near-infrared: `coupling` x its visible lightness + (1 - coupling) x a
    reflectance of its own. Real dyes often reflect near-infrared regardless of how dark they look, so at 0 the
    infrared level carries nothing of the colour, and only shape, patterns, accessories, pose and body match
    across modalities; at 1 it is the visible lightness (a near-greyscale copy). One draw per dye, memoised, so a
    garment and its accent keep their own values however often they are asked for."""

    def __init__(self, seed: int, pid: int, coupling: float) -> None:
        if not 0.0 <= coupling <= 1.0:
            raise ValueError(f"ir coupling must be in 0..1, got {coupling}")
        self.coupling = coupling
        self._rng = np.random.default_rng([seed, _IR_DYE_STREAM, pid])
        self._own: dict[bytes, float] = {}

    def __call__(self, colour: np.ndarray) -> float:
        key = np.asarray(colour, dtype=np.float32).tobytes()
        if key not in self._own:
            self._own[key] = float(self._rng.random())
        return self.coupling * _lightness(colour) + (1.0 - self.coupling) * self._own[key]


def _temperature(rng: np.random.Generator, colour: np.ndarray, reflect: IrReflectance, warmth: float = 0.0) -> float:
    # Dark dyes look dark in infrared and light ones light as far as `reflect` couples them, loosely (fabric,
    # thickness); a few dyes reflect infrared and look bright whatever their colour. Hue never shows.
    if rng.random() < _IR_BRIGHT_DYE:
        return rng.uniform(0.6, 0.85)
    return 0.1 + 0.78 * reflect(colour) + warmth + rng.uniform(-0.04, 0.04)


def _accent_temperature(
    rng: np.random.Generator, base: float, colour: np.ndarray, accent: np.ndarray, reflect: IrReflectance
) -> float:
    # A print or stripe reads in infrared as its own dye; where that is too close to the base, the print's
    # different emissivity still sets it apart, on the side of its reflectance.
    value = _temperature(rng, accent, reflect)
    if abs(value - base) < 0.15:
        away = np.sign(reflect(accent) - reflect(colour)) or (1 if rng.random() < 0.5 else -1)
        value = base + 0.15 * away if 0.05 <= base + 0.15 * away <= 0.95 else base - 0.15 * away
    return value


def _colours(rng: np.random.Generator) -> np.ndarray:
    """Visible colour per part: skin tone, hair, garments with their accents, shoes, bag and hat."""
    colours = np.zeros((N_PARTS, 3), dtype=np.float32)
    colours[SKIN] = _SKIN_TONES[rng.integers(len(_SKIN_TONES))] * rng.uniform(0.93, 1.05)
    colours[HAIR] = _HAIR_COLOURS[rng.choice(len(_HAIR_COLOURS), p=[0.4, 0.25, 0.15, 0.12, 0.08])]
    colours[TOP] = _garment_colour(rng)
    colours[TOP_ACCENT] = _accent_colour(rng, tuple(colours[TOP]))
    colours[LOWER] = _garment_colour(rng) if rng.random() < 0.6 else rng.choice([0.1, 0.2, 0.3]) * np.ones(3)
    colours[LOWER][2] += 0.1 * rng.random()  # jeans-ish bias
    colours[LOWER_ACCENT] = _accent_colour(rng, tuple(colours[LOWER]))
    colours[SHOES] = _garment_colour(rng) if rng.random() < 0.4 else rng.choice([0.08, 0.85]) * np.ones(3)
    colours[BAG] = _garment_colour(rng)
    colours[HAT] = _garment_colour(rng)
    return colours


def _temperatures(
    rng: np.random.Generator,
    heat: np.random.Generator,
    colours: np.ndarray,
    reflect: IrReflectance,
    clothes: tuple[bool, str, str],
) -> np.ndarray:
    """Infrared grey levels ("temperatures") per part: skin is warm, by tone (from `rng`); a garment's level
    loosely follows its lightness, not its hue (see _temperature, drawn from `heat`), so a red and a green shirt of
    one lightness read alike. `clothes`: coat, sleeves and lower garment, which set how warm the garments read."""
    coat, sleeves, lower = clothes
    temperatures = np.zeros(N_PARTS, dtype=np.float32)
    temperatures[SKIN] = 0.4 + 0.55 * _lightness(colours[SKIN]) + rng.uniform(-0.03, 0.03)
    temperatures[HAIR] = _temperature(heat, colours[HAIR], reflect)
    temperatures[TOP] = _temperature(heat, colours[TOP], reflect, -0.06 if coat else _TOP_WARMTH[sleeves])
    temperatures[TOP_ACCENT] = _accent_temperature(
        heat, float(temperatures[TOP]), colours[TOP], colours[TOP_ACCENT], reflect
    )
    temperatures[LOWER] = _temperature(heat, colours[LOWER], reflect, _LOWER_WARMTH[lower])
    temperatures[LOWER_ACCENT] = _accent_temperature(
        heat, float(temperatures[LOWER]), colours[LOWER], colours[LOWER_ACCENT], reflect
    )
    for part in (SHOES, BAG, HAT):
        temperatures[part] = _temperature(heat, colours[part], reflect)
    return temperatures


def draw_identity(seed: int, pid: int, ir_coupling: float = DEFAULT_IR_COUPLING) -> Identity:
    """The attributes of identity `pid` for dataset seed `seed` (independent of every other identity).

    Every cue that both modalities share is drawn bold enough to survive a 96 x 48 input: a wide range of body
    widths, stripes several pixels wide, large logos and bags, bare arms and legs, and prints whose temperature
    differs from the garment's so the patterns read in infrared.
    """
    rng = np.random.default_rng([seed, 0x1D, pid])
    female = bool(rng.random() < 0.45)
    shoulders = rng.uniform(0.17, 0.33) - (0.02 if female else 0.0)
    hair_p = [0.15, 0.35, 0.5] if female else [0.75, 0.2, 0.05]
    lower_p = [0.55, 0.15, 0.3] if female else [0.75, 0.25, 0.0]
    accessory = str(rng.choice(ACCESSORIES, p=[0.25, 0.3, 0.25, 0.2]))
    sleeves = str(rng.choice(SLEEVES, p=[0.5, 0.35, 0.15]))
    coat = bool(rng.random() < 0.2)
    lower = str(rng.choice(["trousers", "shorts", "skirt"], p=lower_p))

    colours = _colours(rng)
    heat = np.random.default_rng([seed, 0x7E, pid])  # its own stream: the rule can change, the people stay
    temperatures = _temperatures(rng, heat, colours, IrReflectance(seed, pid, ir_coupling), (coat, sleeves, lower))
    return Identity(
        pid=pid,
        female=female,
        stature=rng.uniform(0.8, 0.94),
        shoulders=shoulders,
        hips=rng.uniform(0.72, 0.95) + (0.06 if female else 0.0),
        head=rng.uniform(0.115, 0.145),
        legs=rng.uniform(0.42, 0.54),
        limbs=rng.uniform(0.05, 0.075),
        sleeves=sleeves,
        coat=coat,
        lower=lower,
        top_pattern=str(rng.choice(TOP_PATTERNS, p=[0.12, 0.2, 0.16, 0.16, 0.18, 0.18])),
        stripe_period=rng.uniform(0.09, 0.15),
        logo=str(rng.choice(LOGOS)),
        logo_size=rng.uniform(0.5, 0.8),
        lower_pattern=str(rng.choice(LOWER_PATTERNS, p=[0.4, 0.3, 0.3])),
        belt=bool(rng.random() < 0.3),
        hair=str(rng.choice(["short", "medium", "long"], p=hair_p)),
        hat=str(rng.choice(["none", "cap", "beanie"], p=[0.6, 0.22, 0.18])),
        accessory=accessory,
        bag_side=1 if rng.random() < 0.5 else -1,
        bag_size=rng.uniform(1.0, 1.4),
        colours=np.clip(colours, 0.0, 1.0),
        temperatures=np.clip(temperatures, 0.05, 0.97),
    )


@dataclass(frozen=True, eq=False)
class CameraStyle:
    """How one camera sees the world: background, illumination, optics and sensor."""

    camid: int
    modality: Modality
    outdoor: bool
    top: np.ndarray
    """Background colour at the top of the frame (RGB; grey levels for infrared)."""
    bottom: np.ndarray
    """Background colour at the bottom (floor / ground)."""
    clutter: np.ndarray
    """K x 3 palette of background objects."""
    gains: np.ndarray
    """Per-channel white balance (visible) or (1, 1, 1)."""
    brightness: float
    blur: tuple[float, float]
    """Gaussian blur radius range, in pixels."""
    noise: tuple[float, float]
    """Sensor noise sigma range, in [0, 1] units."""
    overexposure: float
    """Probability that an infrared frame is over-exposed (bright bloom near the camera)."""


def _hsv(
    rng: np.random.Generator, hue: tuple[float, float], sat: tuple[float, float], val: tuple[float, float]
) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(rng.uniform(*hue), rng.uniform(*sat), rng.uniform(*val)))


def camera_style(
    seed: int, camid: int, modality: Modality, outdoor: bool, thermal: bool = False, strengths: Nuisances | None = None
) -> CameraStyle:
    """A camera's look; `thermal` makes a blurrier, noisier far-infrared sensor (RegDB) than SYSU's near-IR.

    `strengths` (default: the default difficulty) scales the camera's blur, noise and over-exposure rate.
    """
    n = strengths or nuisances()
    rng = np.random.default_rng([seed, 0xCA, camid])
    if modality == "visible":
        if outdoor:  # sky-ish top, pavement / grass below, bluish daylight
            top, bottom = (
                _hsv(rng, (0.5, 0.62), (0.05, 0.3), (0.6, 0.9)),
                _hsv(rng, (0.05, 0.3), (0.05, 0.35), (0.3, 0.6)),
            )
            gains = np.array([rng.uniform(0.92, 1.0), 1.0, rng.uniform(1.0, 1.1)])
        else:  # walls and floor under warm, dimmer artificial light
            top, bottom = (
                _hsv(rng, (0.05, 0.15), (0.05, 0.25), (0.55, 0.85)),
                _hsv(rng, (0.0, 0.15), (0.1, 0.4), (0.3, 0.6)),
            )
            gains = np.array([rng.uniform(1.03, 1.15), 1.0, rng.uniform(0.82, 0.95)])
        return CameraStyle(
            camid=camid,
            modality=modality,
            outdoor=outdoor,
            top=top,
            bottom=bottom,
            clutter=np.array([_garment_colour(rng) for _ in range(8)]),
            gains=gains,
            brightness=rng.uniform(0.95, 1.1) if outdoor else rng.uniform(0.75, 0.95),
            blur=(0.0, 0.9 * n.blur),
            noise=(0.01 * n.noise, 0.035 * n.noise),
            overexposure=0.0,
        )
    # Infrared: a cool background (outdoors the ground is warmer than the sky), mostly cool clutter.
    top_level = rng.uniform(0.04, 0.15) if outdoor else rng.uniform(0.08, 0.22)
    bottom_level = rng.uniform(0.18, 0.32) if outdoor else rng.uniform(0.12, 0.28)
    return CameraStyle(
        camid=camid,
        modality=modality,
        outdoor=outdoor,
        top=np.full(3, top_level),
        bottom=np.full(3, bottom_level),
        clutter=np.repeat(rng.uniform(0.05, 0.5, size=(8, 1)), 3, axis=1),
        gains=np.ones(3),
        brightness=1.0,
        blur=(1.2 * n.blur, 2.2 * n.blur) if thermal else (0.5 * n.blur, 1.2 * n.blur),
        noise=(0.03 * n.noise, 0.07 * n.noise) if thermal else (0.02 * n.noise, 0.05 * n.noise),
        overexposure=(0.05 if thermal else (0.08 if outdoor else 0.12)) * n.overexposure,
    )
