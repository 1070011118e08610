"""The focuspress watcher service: inboxes in, compressed JPEGs out, Prometheus metrics.

Packages: ``config`` (schema and loading), ``journal`` (SQLite state, the source of truth),
``watcher`` (watchdog events to settled candidates), ``workers`` (bounded queue and pool),
``metrics`` (Prometheus and /healthz), ``service`` (wiring, signals, lifecycle).
"""
