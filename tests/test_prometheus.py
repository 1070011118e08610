"""A real Prometheus server (Debian's package) scrapes a real daemon on loopback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.parse
import urllib.request

import pytest
import yaml

from tests.conftest import encode, synthetic_photo
from tests.daemon_harness import Daemon, free_port, wait_for, write_config

PROMETHEUS = shutil.which("prometheus")


@pytest.mark.slow
@pytest.mark.skipif(PROMETHEUS is None, reason="prometheus not installed (apt-get install prometheus)")
def test_prometheus_scrapes_the_daemon(tmp_path):
    daemon = Daemon(write_config(tmp_path)).start()
    port = free_port()
    prom_config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "focuspress",
                "static_configs": [{"targets": [daemon.base_url.removeprefix("http://")]}],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(prom_config))
    prom = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "prometheus.log", "wb"),
    )

    def query(expr: str) -> list:
        url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                body = json.load(response)
        except OSError:
            return []
        return body["data"]["result"] if body.get("status") == "success" else []

    try:
        for i in range(3):
            tmp = tmp_path / "in0" / f".p{i}.part"
            tmp.write_bytes(encode(synthetic_photo(seed=i)))
            os.rename(tmp, tmp_path / "in0" / f"p{i}.png")
        (tmp_path / "in0" / "broken.jpg").write_bytes(b"nope")

        def processed() -> float:
            result = query('sum(focuspress_files_processed_total{inbox="cam0"})')
            return float(result[0]["value"][1]) if result else 0.0

        wait_for(lambda: processed() == 3.0, 90, interval=0.5, message=(tmp_path / "prometheus.log").read_text())
        failed = query('focuspress_files_failed_total{inbox="cam0"}')
        assert float(failed[0]["value"][1]) == 1.0
        up = query('up{job="focuspress"}')
        assert float(up[0]["value"][1]) == 1.0
        saving = query('focuspress_saving_ratio{inbox="cam0"}')
        assert 0.0 < float(saving[0]["value"][1]) < 1.0
        assert query("focuspress_stage_seconds_count") != []
    finally:
        prom.terminate()
        prom.wait(20)
        daemon.stop()
