"""vireid: visible-infrared person re-identification, from training to deployed engines.

The package root stays import-light (no torch) so that `vireid --help` is instant.
"""

__version__ = "0.1.0"
