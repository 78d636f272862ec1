"""Performance benchmarks for Relais: ``python -m benchmarks`` (``--quick``: a smoke test)."""
