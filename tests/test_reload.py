"""SIGHUP tells the truth: every setting either takes effect in the running daemon or the reload's
log line names it as needing a restart (one test per setting of the daemon's config)."""

from __future__ import annotations

import io
import logging

import pytest
import yaml

from focuspress.daemon.config import DaemonConfig
from focuspress.daemon.service import NEEDS_RESTART, Service
from tests.daemon_harness import write_config

#: A changed value for every setting, and how the running daemon shows it took effect.
CHANGES = {
    "settle_seconds": (2.5, lambda s: s.settler.settle_seconds == 2.5),
    "upload_grace_seconds": (33.0, lambda s: s.processor.config.upload_grace_seconds == 33.0),
    "stall_seconds": (123.0, lambda s: s.config.stall_seconds == 123.0),
    "batch_size": (3, lambda s: s.pool.batch_size == 3),
    "scan_interval_seconds": (7.0, lambda s: s.config.scan_interval_seconds == 7.0),
    "drain_timeout_seconds": (9.0, lambda s: s.config.drain_timeout_seconds == 9.0),
    "max_attempts": (5, lambda s: s.processor.config.max_attempts == 5),
    "retry_seconds": (11.0, lambda s: s.processor.config.retry_seconds == 11.0),
    "log_format": ("text", lambda s: type(logging.getLogger().handlers[0].formatter).__name__ == "TextFormatter"),
    "journal": ("elsewhere.sqlite3", None),
    "metrics": ({"address": "127.0.0.1", "port": 1}, None),
    "workers": (5, None),
    "queue_size": (77, None),
    "saliency": ("faces", None),
    "executor": ("ray", None),
    "ray": ({"actors": 3}, None),
}


def test_every_setting_is_covered():
    assert set(CHANGES) | {"inboxes"} == set(DaemonConfig.model_fields)
    assert {key for key, (_, check) in CHANGES.items() if check is None} == set(NEEDS_RESTART)


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    from focuspress.daemon.logs import configure

    root = tmp_path_factory.mktemp("reload")
    config_path = write_config(root, log_format="json", metrics={"address": "127.0.0.1", "port": 0})
    configure("json", io.StringIO(), capture_stderr=False)
    service = Service(DaemonConfig.model_validate(yaml.safe_load(config_path.read_text())), config_path)
    service.start()
    yield service, config_path
    service.shutdown()


@pytest.mark.parametrize("key", sorted(CHANGES))
def test_a_reloaded_setting_takes_effect_or_is_named(running, key, caplog):
    service, config_path = running
    value, took_effect = CHANGES[key]
    original = config_path.read_text()
    raw = yaml.safe_load(original)
    raw[key] = value if key != "journal" else str(config_path.parent / value)
    config_path.write_text(yaml.safe_dump(raw))
    try:
        with caplog.at_level(logging.INFO, logger="focuspress.daemon"):
            service.reload()
        message = " ".join(record.getMessage() for record in caplog.records if "reloaded" in record.getMessage())
        if took_effect is None:
            assert "need a restart" in message and key in message.split("need a restart")[1]
            assert getattr(service.config, key) != DaemonConfig.model_validate(raw).model_dump()[key] or key == "ray"
        else:
            assert took_effect(service), f"{key} did not take effect"
            assert key in message.split("applied:")[1].split(";")[0]
    finally:
        config_path.write_text(original)
        service.reload()


def test_a_reload_adds_an_inbox(running, tmp_path):
    service, config_path = running
    original = config_path.read_text()
    raw = yaml.safe_load(original)
    raw["inboxes"].append(
        {"name": "cam9", "path": str(tmp_path / "in9"), "outbox": str(tmp_path / "out9"), "originals": "keep"}
    )
    config_path.write_text(yaml.safe_dump(raw))
    try:
        service.reload()
        assert [inbox.name for inbox in service.config.inboxes] == ["cam0", "cam9"]
        assert (tmp_path / "in9").is_dir()  # watched (the watcher creates it)
    finally:
        config_path.write_text(original)
        service.reload()
