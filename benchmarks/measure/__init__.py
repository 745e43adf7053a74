"""Performance measurements of the training hot path (see ``benchmarks/`` and ``reports/benchmarks.md``)."""
