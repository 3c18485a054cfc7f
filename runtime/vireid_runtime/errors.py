"""Runtime errors. Both are user-facing: the CLI prints them as one line, the bench reports a backend as skipped.

The runtime cannot import `vireid` (it ships without it), so it has its own small hierarchy.
"""

from __future__ import annotations


class RuntimeUserError(Exception):
    """Base of the errors caused by the environment or the artifacts, not by a bug."""


class ArtifactError(RuntimeUserError):
    """The artifact directory, its manifest or an engine in it is missing, malformed or incompatible."""


class BackendUnavailable(RuntimeUserError):
    """The requested backend cannot run here (no GPU, no TensorRT, provider missing); never silently replaced."""
