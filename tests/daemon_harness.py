"""The daemon harness the tests share (it lives in the package: the benchmarks drive the same one)."""

from focuspress.bench.harness import Daemon, free_port, wait_for, write_config

__all__ = ["Daemon", "free_port", "wait_for", "write_config"]
