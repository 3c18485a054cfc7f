"""Deployment configs written from an export's manifest: a Triton Inference Server model repository
(`triton.py`, written and checked by `repository.py`) and the ReID section of a DeepStream Gst-nvtracker
config (`deepstream.py`). The config writers are pure functions of the manifest; `vireid deploy` drives them."""
