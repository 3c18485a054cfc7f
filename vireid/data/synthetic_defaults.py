"""The dataset generator's defaults, in one module that imports nothing.

`vireid data synth` shows them in its help and the generator (`vireid/data/synthetic/`) uses them; the help must
not import numpy and Pillow, which the generator package does, so both read them from here.
"""

DEFAULT_DIFFICULTY = 0.3
"""How hard the conditions are (`--difficulty`, 0..1): side views, blur, noise, over-exposure; tuned so the demo
preset learns in a few minutes on a laptop CPU (`synthetic/difficulty.py`)."""

DEFAULT_IR_COUPLING = 0.3
"""How much a garment's infrared level follows its visible lightness (`--ir-coupling`, 0..1). 0.3: a lightness
/ infrared correlation of about 0.3 over garments, weak as with real near-infrared dyes; the demo preset learns
at it (Rank-1 about 15 %, 3x chance, on 100 identities: benchmarks/results/demo/report.md)."""
