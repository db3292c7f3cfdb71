"""Benchmarks (``make bench``): the end-to-end suite (``bench.suite``, ``python -m bench``), entity
resolution alone (``bench.entities``), intake screening (``bench.screen``) and the similarity
engine on synthetic marks (``bench.similarity``)."""
