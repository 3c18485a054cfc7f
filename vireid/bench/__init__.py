"""`vireid bench`: accuracy parity and latency of every deployed backend against the torch reference.

Application layer: it may import vireid_runtime (lazily) and vireid_export's parity figures; the vireid core
never imports it.
"""

from vireid_runtime.backends import names as _runtime_backends

ALL_BACKENDS = ("torch", *_runtime_backends())
"""What `vireid bench --backends` takes: the torch reference, then every runtime backend of the registry."""
