"""The --router flags: combinations checked before anything runs, and the router they make."""

from __future__ import annotations

import argparse

import pytest

from harness._exceptions import ConfigError
from harness.routers._fake_cloudrun import FakeCloudRun
from harness.routers.cloudrun import CloudRunRouter
from harness.routers.command import CommandRouter
from harness.routers.options import add_router_arguments, make_router, router_options_from_args

SERVICE = "projects/demo/locations/europe-west1/services/edge"


def _options(*argv: str):  # type: ignore[no-untyped-def]
    parser = argparse.ArgumentParser()
    add_router_arguments(parser)
    return router_options_from_args(parser.parse_args(list(argv)))


def test_the_default_is_the_platforms_own_edge() -> None:
    assert make_router(_options(), service="ai-routing-engine") is None


@pytest.mark.parametrize(("argv", "flag"), [
    (["--router", "cloudrun"], "--cloudrun-service"),
    (["--router", "command"], "--router-command"),
    (["--cloudrun-service", SERVICE], "--cloudrun-service"),
    (["--router", "cloudrun", "--cloudrun-service", SERVICE, "--router-command", "x {percent}"], "--router-command"),
    (["--canary-revision", "edge-002"], "--baseline-revision/--canary-revision"),
])
def test_a_wrong_combination_is_one_line_naming_the_flag(argv: list[str], flag: str) -> None:
    with pytest.raises(ConfigError) as err:
        _options(*argv)
    assert str(err.value).startswith(flag) and "\n" not in str(err.value)


def test_cloudrun_and_command_options_make_those_routers() -> None:
    with FakeCloudRun() as fake:
        fake.add_service(SERVICE, ["edge-001", "edge-002"], {"edge-001": 100})
        router = make_router(_options("--router", "cloudrun", "--cloudrun-service", SERVICE,
                                      "--cloudrun-endpoint", fake.endpoint), service="edge")
        assert isinstance(router, CloudRunRouter)
        split = router.current()
        assert (split.baseline, split.canary, split.canary_percent) == ("edge-001", "edge-002", 0)
    router = make_router(_options("--router", "command", "--router-command", "echo {service} {percent}"),
                         service="ai-routing-engine")
    assert isinstance(router, CommandRouter) and router.argv(10) == ["echo", "ai-routing-engine", "10"]
