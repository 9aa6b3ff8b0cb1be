"""optlab's speed suite (never part of the test run): ``python -m benchmarks --help``.

See ``benchmarks/README.md`` for what is measured, how, and the results.
"""
