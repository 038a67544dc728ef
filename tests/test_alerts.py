"""The sample alerts an operator loads into Prometheus: valid, firing on the stories they are
for (promtool's own rule tests), and reading only metrics the server really serves."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from server.app import create_app
from tests.conftest import OPERATOR

PROMETHEUS = Path(__file__).resolve().parent.parent / "deploy" / "prometheus"


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true needs promtool (apt-get install prometheus; .ci/run does)")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    return found


def run(*args: str, cwd: Path = PROMETHEUS) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_rules_are_valid_and_fire_on_their_stories() -> None:
    tool = promtool()
    assert "SUCCESS" in run(tool, "check", "rules", "alerts.yml")
    assert "SUCCESS" in run(tool, "test", "rules", "alerts.test.yml")


def test_the_sample_scrape_configuration_is_valid(tmp_path: Path) -> None:
    tool = promtool()
    shutil.copy(PROMETHEUS / "alerts.yml", tmp_path)
    token = tmp_path / "token"
    token.write_text("a-long-random-metrics-token\n")
    config = (PROMETHEUS / "prometheus.yml").read_text()
    config = config.replace("/etc/prometheus/dangjian-metrics-token", str(token))
    (tmp_path / "prometheus.yml").write_text(config)
    assert "SUCCESS" in run(tool, "check", "config", "prometheus.yml", cwd=tmp_path)


async def test_every_metric_the_alerts_read_is_served(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    response = await client.get("/metrics", headers=OPERATOR)
    # A labelled counter nobody has moved yet still declares its family (HELP and TYPE).
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}
    served = set()
    for family in text_string_to_metric_families(await response.text()):
        served.add(family.name)
        served |= {family.name + suffix for suffix in suffixes.get(family.type, ())}
    read = set(re.findall(r"\bdangjian_[a-z0-9_]+", (PROMETHEUS / "alerts.yml").read_text()))
    assert read, "the alerts read no dangjian metric"
    assert read <= served, f"alerts read metrics the server does not serve: {read - served}"
