"""`vireid bench`: accuracy parity and latency of every deployed backend against the torch reference.

Application layer: it may import vireid_runtime (lazily) and vireid_export's parity figures; the vireid core
never imports it.
"""
