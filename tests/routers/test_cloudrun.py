"""The Cloud Run router through the real google-cloud-run client against the fake Admin API."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import grpc
import pytest

from harness.routers import TrafficRouter
from harness.routers._errors import RouterError, RouterPermissionDenied, UnknownRevision
from harness.routers._fake_cloudrun import FakeCloudRun
from harness.routers.cloudrun import CloudRunRouter

SERVICE = "projects/demo/locations/europe-west1/services/edge"
ORIGINAL = {"edge-001": 80, "edge-002": 20}  # a split someone left in place: it must come back exactly


@pytest.fixture
def fake() -> Iterator[FakeCloudRun]:
    with FakeCloudRun(polls_to_finish=2) as server:
        server.add_service(SERVICE, ["edge-001", "edge-002", "edge-003"], dict(ORIGINAL))
        yield server


def _router(fake: FakeCloudRun, **kw: object) -> CloudRunRouter:
    return CloudRunRouter(SERVICE, endpoint=fake.endpoint, timeout_s=30, **kw)  # type: ignore[arg-type]


def test_it_is_a_traffic_router(fake: FakeCloudRun) -> None:
    assert isinstance(_router(fake), TrafficRouter)


def test_each_stage_sets_the_split_after_the_operation_completes_and_a_pass_restores_the_original(
    fake: FakeCloudRun,
) -> None:
    router = _router(fake)  # baseline: the largest share (edge-001); canary: the latest ready (edge-003)
    for percent in (10, 50, 100):
        polls_before = len(fake.calls_to("GetOperation"))
        split = router.set_canary_percent(percent)
        # the fake applies an update only when its operation is done: seeing the new
        # split here means the router waited for the operation, polling it
        assert len(fake.calls_to("GetOperation")) - polls_before >= 2
        expected = {"edge-001": 100 - percent, "edge-003": percent}
        assert fake.traffic(SERVICE) == {k: v for k, v in expected.items() if v}
        assert (split.baseline, split.canary, split.canary_percent) == ("edge-001", "edge-003", percent)
    router.restore()
    assert fake.traffic(SERVICE) == ORIGINAL
    assert router.current().canary_percent == 0
    assert router.restore_command() == (
        "gcloud run services update-traffic edge --project=demo --region=europe-west1 "
        "--to-revisions=edge-001=80,edge-002=20"
    )


def test_a_rollback_then_restore_puts_back_the_split_found_first_and_restore_is_idempotent(
    fake: FakeCloudRun,
) -> None:
    router = _router(fake, canary="edge-003", baseline="edge-002")
    router.set_canary_percent(10)
    router.set_canary_percent(0)  # the rollback
    assert fake.traffic(SERVICE) == {"edge-002": 100}
    router.restore()
    router.restore()
    assert fake.traffic(SERVICE) == ORIGINAL
    updates = fake.calls_to("UpdateService")
    assert len(updates) == 3  # 10 %, 0 %, one restore: the second restore sent nothing
    assert {t.revision: t.percent for t in updates[-1].service.traffic} == ORIGINAL


def test_restore_without_a_change_sends_nothing(fake: FakeCloudRun) -> None:
    router = _router(fake)
    router.current()
    router.restore()
    assert fake.calls_to("UpdateService") == []


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signalled_process_restores_the_original_split_before_it_exits(
    fake: FakeCloudRun, sig: signal.Signals, code: int
) -> None:
    script = textwrap.dedent(f"""
        import signal, sys, time
        from harness.routers.cloudrun import CloudRunRouter
        router = CloudRunRouter({SERVICE!r}, canary="edge-003", endpoint={fake.endpoint!r}, timeout_s=30)
        def on_term(signum, frame):
            router.restore()
            sys.exit(143)
        signal.signal(signal.SIGTERM, on_term)
        try:
            router.set_canary_percent(10)
            print("at 10 %", flush=True)
            time.sleep(60)
        except KeyboardInterrupt:
            router.restore()
            sys.exit(130)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "at 10 %"
        assert fake.traffic(SERVICE) == {"edge-001": 90, "edge-003": 10}
        proc.send_signal(sig)
        assert proc.wait(30) == code
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert fake.traffic(SERVICE) == ORIGINAL


def test_ctrl_c_while_waiting_for_the_operation_still_restores_the_original_split(fake: FakeCloudRun) -> None:
    fake.polls_to_finish = 10_000  # the 10 % update never completes: the process is stuck waiting on it
    script = textwrap.dedent(f"""
        import sys
        from harness.routers.cloudrun import CloudRunRouter
        router = CloudRunRouter({SERVICE!r}, canary="edge-003", endpoint={fake.endpoint!r}, timeout_s=60)
        try:
            router.set_canary_percent(10)
        except KeyboardInterrupt:
            router.restore()
            sys.exit(130)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 30
        while len(fake.calls_to("GetOperation")) < 2:  # it is polling the 10 % update
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        fake.polls_to_finish = 1  # the restore's update completes normally
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert fake.traffic(SERVICE) == ORIGINAL
    assert {t.revision: t.percent for t in fake.calls_to("UpdateService")[-1].service.traffic} == ORIGINAL


def test_an_operation_that_fails_is_one_line_and_restore_still_works(fake: FakeCloudRun) -> None:
    router = _router(fake)
    fake.fail_next_operation(grpc.StatusCode.FAILED_PRECONDITION, "Revision 'edge-003' is not ready.\nDetails")
    with pytest.raises(RouterError) as err:
        router.set_canary_percent(10)
    assert "\n" not in str(err.value) and "is not ready" in str(err.value)
    assert fake.traffic(SERVICE) == ORIGINAL  # nothing was put in force
    router.restore()  # the spec still holds the failed split: it is put back
    updates = fake.calls_to("UpdateService")
    assert len(updates) == 2 and {t.revision: t.percent for t in updates[-1].service.traffic} == ORIGINAL


def test_permission_denied_is_one_line_naming_the_permissions(fake: FakeCloudRun) -> None:
    fake.fail("UpdateService", grpc.StatusCode.PERMISSION_DENIED,
              message="Permission 'run.services.update' denied on resource 'edge' (or it may not exist).\nmore")
    router = _router(fake)
    with pytest.raises(RouterPermissionDenied) as err:
        router.set_canary_percent(10)
    message = str(err.value)
    assert "\n" not in message and "permission denied" in message and "run.services.update" in message
    assert "iam.serviceAccounts.actAs" in message and SERVICE in message
    assert fake.traffic(SERVICE) == ORIGINAL


def test_an_unknown_revision_is_one_line_listing_the_services_revisions_and_changes_nothing(
    fake: FakeCloudRun,
) -> None:
    router = _router(fake, canary="edge-999")
    with pytest.raises(UnknownRevision) as err:
        router.set_canary_percent(10)
    message = str(err.value)
    assert "\n" not in message and "'edge-999'" in message and "edge-003, edge-002, edge-001" in message
    assert fake.calls_to("UpdateService") == []
    with pytest.raises(UnknownRevision):  # and again: it never half-initialises
        router.set_canary_percent(10)
    assert fake.calls_to("UpdateService") == [] and fake.traffic(SERVICE) == ORIGINAL


def test_an_unknown_service_or_a_malformed_name_is_one_line(fake: FakeCloudRun) -> None:
    with pytest.raises(RouterError, match="expected projects/P/locations/L/services/S"):
        CloudRunRouter("edge", endpoint=fake.endpoint)
    router = CloudRunRouter(SERVICE.replace("edge", "nope"), endpoint=fake.endpoint)
    with pytest.raises(RouterError) as err:
        router.current()
    assert "not found" in str(err.value) and "\n" not in str(err.value)


def test_a_split_changed_by_someone_else_during_the_rollout_is_never_overwritten(fake: FakeCloudRun) -> None:
    router = _router(fake)
    router.set_canary_percent(10)
    operator = _router(fake, baseline="edge-001", canary="edge-002")  # e.g. a manual rollback in the console
    operator.set_canary_percent(0)
    with pytest.raises(RouterError, match="changed outside this rollout") as err:
        router.set_canary_percent(50)
    assert "\n" not in str(err.value)
    router.restore()  # nothing to put back over the operator's decision
    assert fake.traffic(SERVICE) == {"edge-001": 100}


def test_the_fake_runs_on_its_own_for_rehearsals() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "harness.routers._fake_cloudrun", "--service", SERVICE,
                             "--revisions", "edge-001,edge-002", "--split", "edge-001=100", "--polls", "1"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        endpoint = proc.stdout.readline().split()[-1]
        assert proc.stdout.readline().strip() == "traffic {'edge-001': 100}"
        router = CloudRunRouter(SERVICE, endpoint=endpoint, timeout_s=30)
        router.set_canary_percent(10)
        router.restore()
        assert proc.stdout.readline().strip() == "traffic {'edge-001': 90, 'edge-002': 10}"
        assert proc.stdout.readline().strip() == "traffic {'edge-001': 100}"
        proc.terminate()
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
