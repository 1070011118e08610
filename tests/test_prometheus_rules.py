"""The alert rules and the Grafana dashboard against promtool and the metrics the daemon exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROMTOOL = shutil.which("promtool")
RULES = ROOT / "config" / "prometheus" / "focuspress.rules.yml"
DASHBOARD = ROOT / "config" / "grafana" / "focuspress.json"
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (apt install prometheus)")


def exported_names() -> set[str]:
    """Every sample name a daemon with one inbox exports from start-up (the suffixes included)."""
    from prometheus_client import generate_latest

    from focuspress.daemon.prometheus import DaemonMetrics

    metrics = DaemonMetrics()
    metrics.initialize(["cam"])
    metrics.set_device("cpu")
    metrics.set_rescan_backend("turbojpeg")
    metrics.outbox_free_bytes.labels("cam").set(1)
    metrics.outbox_size_bytes.labels("cam").set(2)
    text = generate_latest(metrics.registry).decode()
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def rule_queries() -> list[str]:
    return [rule["expr"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def test_every_metric_a_query_names_is_exported_from_start_up():
    exported = exported_names()
    for expr in dashboard_queries() + rule_queries():
        for name in re.findall(r"\bfocuspress_[a-z0-9_]+", expr):
            assert name in exported, f"{name} (in {expr!r}) is not exported by the daemon"


def test_every_per_inbox_series_exists_at_zero_before_any_event():
    from prometheus_client import generate_latest

    from focuspress.daemon.prometheus import OUTPUT_ERROR_LABELS, REASON_LABELS, DaemonMetrics

    metrics = DaemonMetrics()
    metrics.initialize(["cam"])
    text = generate_latest(metrics.registry).decode()
    assert 'focuspress_inbox_paused{inbox="cam"} 0.0' in text
    for reason in OUTPUT_ERROR_LABELS:
        assert f'focuspress_output_errors_total{{inbox="cam",reason="{reason}"}} 0.0' in text
    for reason in REASON_LABELS:
        assert f'focuspress_files_quarantined_total{{inbox="cam",reason="{reason}"}} 0.0' in text
    for outcome in ("recompressed", "lossless", "kept"):
        assert f'focuspress_files_processed_total{{inbox="cam",outcome="{outcome}"}} 0.0' in text


@needs_promtool
def test_promtool_checks_and_unit_tests_the_alert_rules():
    check = subprocess.run([PROMTOOL, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    names = {rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]}
    for wanted in ("FocuspressDown", "FocuspressInboxStuck", "FocuspressQuarantineRateHigh", "FocuspressOutboxPaused",
                   "FocuspressOutboxDiskAlmostFull", "FocuspressSavingCollapsed"):  # fmt: skip
        assert wanted in names
    test = subprocess.run(
        [PROMTOOL, "test", "rules", "focuspress.rules.test.yml"], cwd=RULES.parent, capture_output=True, text=True
    )
    assert test.returncode == 0 and "SUCCESS" in test.stdout, test.stdout + test.stderr
    tested = set(re.findall(r"alertname: (\w+)", (RULES.parent / "focuspress.rules.test.yml").read_text()))
    assert names <= tested, f"alerts without a unit test: {names - tested}"


@needs_promtool
def test_every_dashboard_query_is_valid_promql(tmp_path):
    """promtool parses each query as a recording rule (Grafana's variables replaced by values)."""
    substitutions = {"$__rate_interval": "5m", "$__range": "6h", "$inbox": ".*"}
    rules = []
    for index, expr in enumerate(dashboard_queries()):
        for variable, value in substitutions.items():
            expr = expr.replace(variable, value)
        rules.append({"record": f"dashboard:query_{index}", "expr": expr})
    target = tmp_path / "dashboard-queries.yml"
    target.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    check = subprocess.run([PROMTOOL, "check", "rules", str(target)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    titles = {panel["title"] for panel in json.loads(DASHBOARD.read_text())["panels"]}
    for wanted in (
        "Throughput by outcome",
        "Arrival to output (quantiles)",
        "Savings",
        "Queue",
        "Quarantine by reason",
    ):
        assert wanted in titles
