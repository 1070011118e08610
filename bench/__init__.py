"""``focuspress bench``: rate-distortion and throughput against every anchor, on shared data.

``bench.codecs`` holds one small module per codec (a registry a new codec joins with one
module); ``bench.runner`` sweeps, encodes, decodes and scores; ``bench.report`` turns rows into
BD-rate tables, ``summary.md`` and plots; ``bench.daemon_load`` measures a real daemon.
"""
