from __future__ import annotations

import argparse
import time

import pytest

from harness._exceptions import ConfigError
from harness._verdicts import Check, Verdict
from harness.monitoring import add_monitoring_arguments, exporter_from_args, monitoring_config_from_args

NO_ENV: dict[str, str] = {}


def _args(*argv):
    parser = argparse.ArgumentParser(prog="harness rollout")
    add_monitoring_arguments(parser)
    return parser.parse_args(list(argv))


def test_without_flags_or_environment_export_is_off():
    config = monitoring_config_from_args(_args(), NO_ENV)
    assert config.project is None and config.endpoint is None and config.interval == 0 and not config.require_export
    exporter = exporter_from_args(_args(), NO_ENV)
    assert not exporter.enabled


def test_flags_override_the_environment():
    env = {"GOOGLE_CLOUD_PROJECT": "env-project", "XYNERGY_MONITORING_ENDPOINT": "127.0.0.1:9"}
    config = monitoring_config_from_args(_args("--gcp-project", "flag-project", "--monitoring-endpoint", "localhost:8085"), env)
    assert config.project == "flag-project" and config.endpoint == "localhost:8085"
    config = monitoring_config_from_args(_args(), env)
    assert config.project == "env-project" and config.endpoint == "127.0.0.1:9"


@pytest.mark.parametrize(
    ("argv", "env", "names"),
    [
        (["--monitoring-endpoint", "127.0.0.1"], NO_ENV, "--monitoring-endpoint: expected HOST:PORT"),
        (["--monitoring-endpoint", "monitoring.example.com:443"], NO_ENV, "--monitoring-endpoint: must be on loopback"),
        ([], {"XYNERGY_MONITORING_ENDPOINT": "10.0.0.8:8085"}, "XYNERGY_MONITORING_ENDPOINT: must be on loopback"),
        (["--monitoring-interval", "2s"], NO_ENV, "--monitoring-interval: must be 0 (off) or at least 5s"),
        (["--monitoring-interval", "2"], NO_ENV, "--monitoring-interval: a bare number is ambiguous"),
        (["--monitoring-interval", "soon"], NO_ENV, "--monitoring-interval: expected a duration"),
        (["--monitoring-timeout", "0s"], NO_ENV, "--monitoring-timeout: must be positive"),
        (["--monitoring-timeout", "15"], NO_ENV, "--monitoring-timeout: a bare number is ambiguous"),
        (["--gcp-project", "Not_A_Project"], NO_ENV, "--gcp-project: not a GCP project id"),
        (["--require-export"], NO_ENV, "--require-export: needs a project"),
    ],
)
def test_bad_settings_are_one_config_error_naming_the_flag_or_variable(argv, env, names):
    with pytest.raises(ConfigError) as caught:
        monitoring_config_from_args(_args(*argv), env)
    assert str(caught.value).startswith(names) and "\n" not in str(caught.value)


def test_an_ipv6_loopback_endpoint_is_accepted():
    assert monitoring_config_from_args(_args("--monitoring-endpoint", "[::1]:8085"), NO_ENV).endpoint == "[::1]:8085"


def test_durations_accept_units():
    config = monitoring_config_from_args(_args("--monitoring-interval", "1m", "--monitoring-timeout", "2500ms"), NO_ENV)
    assert config.interval == 60.0 and config.timeout == 2.5


def test_the_interval_reads_hours_like_every_duration_flag_and_0_still_means_off():
    assert monitoring_config_from_args(_args("--monitoring-interval", "1h"), NO_ENV).interval == 3600.0
    assert monitoring_config_from_args(_args("--monitoring-interval", "0"), NO_ENV).interval == 0.0
    assert monitoring_config_from_args(_args(), {"XYNERGY_MONITORING_INTERVAL": "30s"}).interval == 30.0


def test_the_exporter_from_flags_writes_to_the_endpoint_they_name(fake):
    args = _args("--gcp-project", "flag-project", "--monitoring-endpoint", fake.endpoint, "--monitoring-timeout", "5s")
    with exporter_from_args(args, NO_ENV) as exporter:
        assert exporter.enabled and exporter.timeout == 5.0
        check = Check("api-latency-p95", Verdict.PASS, 50.0, 100.0, "lt", unit="ms")
        result = exporter.export_checks([check], run_id="r", stage="10", scenario="s", kind="rollout", end_time=time.time())
    assert result.ok and {r.name for r in fake.calls_to("CreateTimeSeries")} == {"projects/flag-project"}


def test_require_export_from_the_environment_makes_failures_fatal(fake):
    from harness._exceptions import ExportError

    env = {"GOOGLE_CLOUD_PROJECT": "env-project", "XYNERGY_MONITORING_ENDPOINT": fake.endpoint, "XYNERGY_REQUIRE_EXPORT": "1"}
    import grpc

    fake.fail("CreateMetricDescriptor", grpc.StatusCode.UNAUTHENTICATED)
    with exporter_from_args(_args(), env) as exporter, pytest.raises(ExportError, match="UNAUTHENTICATED"):
        exporter.export_checks([Check("x", Verdict.PASS, 1.0, 2.0, "lt")], run_id="r", stage="1", scenario="s", end_time=time.time())
