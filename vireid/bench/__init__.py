"""`vireid bench`: accuracy parity and latency of every deployed backend against the torch reference.

Application layer: it reads artifact folders through vireid_runtime (its records, parity maths and backends)
and rebuilds the torch reference from the vireid core; it never imports vireid_export, and the core never
imports it.
"""

from vireid_runtime.backends import names as _runtime_backends

ALL_BACKENDS = ("torch", *_runtime_backends())
"""What `vireid bench --backends` takes: the torch reference, then every runtime backend of the registry."""
