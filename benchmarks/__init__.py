"""Speed, memory and accuracy measurements of photosorter, each with its baseline in the same run.

Run one with ``python -m benchmarks NAME [args]`` from the repository root (``python -m benchmarks``
lists them). Every benchmark reports through :func:`benchmarks._report.emit`: one JSON document on
stdout (and in ``--out`` where offered). Checks of the method and the tools that make the README's
images live in :mod:`benchmarks.experiments`, run the same way.
"""
