"""``focuspress bench``: rate-distortion and throughput against every anchor, on shared data.

``focuspress.bench.codecs`` holds one small module per codec (a registry a new codec joins with one
module); ``focuspress.bench.runner`` sweeps, encodes, decodes and scores; ``focuspress.bench.report`` turns rows into
BD-rate tables, ``summary.md`` and plots; ``focuspress.bench.daemon_load`` measures a real daemon.
"""
