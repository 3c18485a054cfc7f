"""Synthetic VI-ReID datasets in the real on-disk layouts (docs/architecture.md, "Data", `vireid data synth`).

- `identity`: what is fixed per person (shape, clothes, patterns, accessories, colours, temperatures) and per
  camera (background, illumination, optics, sensor);
- `body`: the person's geometry for one frame and viewpoint, as a map of part labels (drawn with `canvas`);
- `render`: that map in one modality (colours or temperatures) over a background, with lighting, blur, noise;
- `writer`: `generate`, which writes a SYSU-MM01 or RegDB tree with real-style names and split files;
- `difficulty`: one number (0..1, `--difficulty`) that sets every nuisance strength; the default is tuned so the
  demo preset learns to match people across modalities in about 3 minutes on a laptop CPU.

It is the embedded default for demos and tests, not a claim about real-data accuracy.
"""

from vireid.data.synthetic.writer import SyntheticSummary, generate

__all__ = ["SyntheticSummary", "generate"]
