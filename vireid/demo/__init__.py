"""`vireid demo`: the whole product on a laptop CPU, in minutes, from nothing.

It generates a SYSU-MM01-layout dataset, trains the `demo` preset, evaluates the all-search protocol over
10 gallery trials, exports both branches to ONNX fp32 and int8, benches torch against ONNX Runtime (and OpenVINO
when it is installed) at every precision they run (parity and latency), draws a ranked list through
`backend="auto"`, which picks by that bench, fills a gallery, writes a Triton repository, and writes report.md
tying it together. Everything is deterministic for the seed except the timings. The generated data only shows
that the pipeline learns and that deployment keeps what was learned; it says nothing about accuracy on real data.

One idea per module: `recipe.py` (what the demo makes, as data), `steps.py` (one function per step, each
returning a typed record), `record.py` (those records together), `report.py` (report.md from the record),
`gallery.py` (the gallery step and its section), `run.py` (the steps in order).
"""

from vireid.demo.recipe import DemoOptions, DemoRecipe
from vireid.demo.run import run_demo

__all__ = ["DemoOptions", "DemoRecipe", "run_demo"]
