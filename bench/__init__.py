"""The sweep benchmark: a synthetic book, reference sweeps and the timed runs (docs/performance.md)."""
