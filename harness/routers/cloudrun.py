"""Cloud Run router: a rollout stage is a revision traffic split of one Cloud Run service.

Through the real `google-cloud-run` client (`run_v2.ServicesClient`): the
first read remembers the service's `traffic` exactly as found (tags and
LATEST entries included); each stage sets two REVISION targets, baseline
`100-p` % and canary `p` % (tagged entries kept at 0 % so tag URLs keep
working), sends the service back with its etag (a concurrent change fails the
update instead of being overwritten) and waits for the long-running
operation; `restore()` puts the remembered `traffic` back the same way.

```python
router = CloudRunRouter("projects/p/locations/europe-west1/services/edge", canary="edge-00042-abc")
try:
    router.set_canary_percent(10)
    ...
finally:
    router.restore()
```

Needs `run.services.get`, `run.services.update`, `run.revisions.get`,
`run.revisions.list` (all in roles/run.developer) and
`iam.serviceAccounts.actAs` on the service's runtime service account.
"""

from __future__ import annotations

import concurrent.futures
import re
import shlex
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import grpc
from google.api_core import exceptions as gexc
from google.api_core.future import polling as gpolling
from google.auth import credentials as gauth
from google.auth import exceptions as gauth_exc
from google.cloud import run_v2
from google.cloud.run_v2.services.revisions.transports import RevisionsGrpcTransport
from google.cloud.run_v2.services.services.transports import ServicesGrpcTransport

from harness.routers._base import TrafficSplit
from harness.routers._errors import RouterError, RouterPermissionDenied, UnknownRevision

__all__ = ["CloudRunRouter", "SERVICE_NAME", "make_clients"]

SERVICE_NAME = re.compile(r"projects/[^/]+/locations/[^/]+/services/[^/]+")
"""The form `--cloudrun-service` takes."""
_REVISION = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
_PERMISSIONS = ("run.services.get, run.services.update, run.revisions.get/list (roles/run.developer) "
                "and iam.serviceAccounts.actAs on the service's runtime service account")
T = TypeVar("T")


def make_clients(
    endpoint: str | None = None, credentials: gauth.Credentials | None = None
) -> tuple[run_v2.ServicesClient, run_v2.RevisionsClient]:
    """Clients for Google (`credentials` or ADC), or for `endpoint` (`HOST:PORT`, a fake or
    emulator on loopback) over an insecure channel, anonymously."""
    if endpoint is None:
        try:
            return run_v2.ServicesClient(credentials=credentials), run_v2.RevisionsClient(credentials=credentials)
        except gauth_exc.DefaultCredentialsError as exc:
            raise RouterError(f"Cloud Run: no credentials ({str(exc).splitlines()[0]}); "
                              "run `gcloud auth application-default login` or set "
                              "GOOGLE_APPLICATION_CREDENTIALS") from None
    anonymous = gauth.AnonymousCredentials()  # type: ignore[no-untyped-call]
    channel = grpc.insecure_channel(endpoint)
    return (
        run_v2.ServicesClient(transport=ServicesGrpcTransport(host=endpoint, credentials=anonymous, channel=channel)),
        run_v2.RevisionsClient(transport=RevisionsGrpcTransport(host=endpoint, credentials=anonymous,
                                                                channel=channel)),
    )


def _short(revision: str) -> str:
    return revision.rsplit("/", 1)[-1]


class CloudRunRouter:
    """Shift a Cloud Run service's traffic between two of its revisions, and put it back.

    **Parameters:**
    * **service** - `projects/P/locations/L/services/S`.
    * **canary** - the canary revision (short name or full path); default: the service's
      latest ready revision (deploy it with `--no-traffic`).
    * **baseline** - the baseline revision; default: the revision with the largest share now.
    * **endpoint** / **credentials** - see `make_clients`; or pass **clients**.
    * **timeout_s** - how long to wait for one traffic update's operation.
    """

    def __init__(
        self, service: str, *, canary: str | None = None, baseline: str | None = None,
        endpoint: str | None = None, credentials: gauth.Credentials | None = None, timeout_s: float = 600.0,
        clients: tuple[run_v2.ServicesClient, run_v2.RevisionsClient] | None = None,
    ) -> None:  # fmt: skip
        if not SERVICE_NAME.fullmatch(service):
            raise RouterError(f"--cloudrun-service: expected projects/P/locations/L/services/S, got {service!r}")
        self.service = service
        self._want_canary = _short(canary) if canary else None
        self._want_baseline = _short(baseline) if baseline else None
        self._timeout_s = timeout_s
        self._services, self._revisions = clients if clients is not None else make_clients(endpoint, credentials)
        self._original: list[run_v2.TrafficTarget] | None = None
        self._baseline = ""
        self._canary = ""
        self._changed = False
        self._expected: list[list[tuple[int, str, int, str]]] = []
        """Splits this router may find: the last one it set, and one whose update was interrupted."""

    # --- the TrafficRouter protocol --------------------------------------
    def describe(self) -> str:
        who = f"{self._baseline or self._want_baseline or 'largest share'} -> " \
              f"{self._canary or self._want_canary or 'latest ready'}"
        return f"Cloud Run traffic split of {self.service} ({who})"

    def current(self) -> TrafficSplit:
        service = self._read()
        return self._split(service)

    def set_canary_percent(self, percent: int) -> TrafficSplit:
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
            raise RouterError(f"{self.service}: canary percent must be an integer 0-100, got {percent!r}")
        service = self._read()
        self._refuse_outside_change(service, f"set the canary to {percent} %")
        targets = []
        if percent < 100:
            targets.append(run_v2.TrafficTarget(type_=_REVISION, revision=self._baseline, percent=100 - percent))
        if percent > 0:
            targets.append(run_v2.TrafficTarget(type_=_REVISION, revision=self._canary, percent=percent))
        assert self._original is not None
        for kept in self._original:  # tag URLs stay reachable during the rollout
            if kept.tag:
                targets.append(run_v2.TrafficTarget(type_=kept.type_, revision=kept.revision, tag=kept.tag, percent=0))
        self._changed = True
        self._update(service, targets, f"set canary {self._canary} to {percent} %")
        return self.current()

    def restore(self) -> None:
        if not self._changed or self._original is None:
            return
        service = self._read()
        self._refuse_outside_change(service, "restore the original split")
        self._update(service, list(self._original), "restore the original split")
        self._changed = False

    def restore_command(self) -> str | None:
        """The `gcloud` line that puts the original split back by hand (None before the first read).

        For the report and the log at start: if the harness itself cannot restore (SIGKILL,
        the machine lost), an operator can.
        """
        if self._original is None:
            return None
        _, project, _, region, _, name = self.service.split("/")
        shares = [f"{t.revision or 'LATEST'}={t.percent}" for t in self._original if t.percent]
        tags = [f"{t.tag}={t.revision or 'LATEST'}" for t in self._original if t.tag]
        words = ["gcloud", "run", "services", "update-traffic", name, f"--project={project}", f"--region={region}",
                 f"--to-revisions={','.join(shares)}"]
        if tags:
            words.append(f"--set-tags={','.join(tags)}")
        return shlex.join(words)

    # --- internals ---------------------------------------------------------
    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except gexc.PermissionDenied as exc:
            raise RouterPermissionDenied(
                f"{self.service}: permission denied to {what} ({_first_line(exc.message)}); needs {_PERMISSIONS}"
            ) from None
        except gexc.Unauthenticated as exc:
            raise RouterPermissionDenied(f"{self.service}: not authenticated to {what}: {_first_line(exc.message)}") \
                from None
        except gexc.NotFound as exc:
            raise RouterError(f"{self.service}: not found when trying to {what}: {_first_line(exc.message)}") \
                from None
        except gexc.GoogleAPICallError as exc:
            code = getattr(exc.grpc_status_code, "name", None) or exc.code
            raise RouterError(f"{self.service}: {what} failed: {code} {_first_line(exc.message)}") from None
        except concurrent.futures.TimeoutError:
            raise RouterError(f"{self.service}: {what}: the operation did not finish in {self._timeout_s:g} s "
                              "(the split may still change; check `gcloud run services describe`)") from None

    def _read(self) -> run_v2.Service:
        service: run_v2.Service = self._call("read the service", lambda: self._services.get_service(name=self.service))
        if self._original is None:
            self._resolve(service)  # first: nothing is remembered for a service that cannot be rolled out
            self._original = [run_v2.TrafficTarget(t) for t in service.traffic]
            self._expected = [_key(self._original)]
        return service

    def _resolve(self, service: run_v2.Service) -> None:
        shares: dict[str, int] = {}
        for status in service.traffic_statuses or []:
            shares[status.revision] = shares.get(status.revision, 0) + status.percent
        self._baseline = self._want_baseline or max(shares, key=lambda r: shares[r], default="")
        self._canary = self._want_canary or _short(service.latest_ready_revision)
        for role, revision in (("baseline", self._baseline), ("canary", self._canary)):
            if not revision:
                raise RouterError(f"{self.service}: cannot tell the {role} revision; name it explicitly")
            self._check_revision(role, revision)
        if self._baseline == self._canary:
            raise RouterError(f"{self.service}: baseline and canary are the same revision {self._canary!r}; "
                              "deploy the canary with --no-traffic, or name both")

    def _check_revision(self, role: str, revision: str) -> None:
        try:
            self._revisions.get_revision(name=f"{self.service}/revisions/{revision}")
        except gexc.NotFound:
            known = self._call("list revisions", lambda: [
                _short(r.name) for _, r in zip(range(6), self._revisions.list_revisions(parent=self.service))
            ])
            raise UnknownRevision(
                f"{self.service}: unknown {role} revision {revision!r} (its revisions, newest first: "
                f"{', '.join(known) or 'none'})"
            ) from None
        except gexc.GoogleAPICallError:
            self._call(f"read revision {revision}",
                       lambda: self._revisions.get_revision(name=f"{self.service}/revisions/{revision}"))

    def _refuse_outside_change(self, service: run_v2.Service, what: str) -> None:
        """Someone (an operator's manual rollback, another pipeline) changed the split since our last
        update: do not overwrite their decision, stop the rollout and say so."""
        if self._changed and _key(service.traffic) not in self._expected:
            now = ", ".join(f"{t.revision or 'LATEST'} {t.percent} %" for t in service.traffic if t.percent)
            self._changed = False  # restore() must not overwrite it either
            raise RouterError(f"{self.service}: the traffic split was changed outside this rollout (now {now}); "
                              f"not overwriting it to {what}")

    def _update(self, service: run_v2.Service, targets: Sequence[run_v2.TrafficTarget], what: str) -> None:
        service.traffic = list(targets)
        # until the operation is done (or if waiting is interrupted: Ctrl-C, SIGTERM, a timeout)
        # the service may hold either the split before this update or this one
        self._expected = [*self._expected[-1:], _key(targets)]
        # api_core's polling policy (it retries while the operation is not done), from 0.2 s, not 1 s
        polling = gpolling.DEFAULT_POLLING.with_delay(initial=0.2, maximum=5.0, multiplier=1.5).with_timeout(
            self._timeout_s
        )

        def send() -> Any:
            operation = self._services.update_service(service=service)
            return operation.result(timeout=self._timeout_s, polling=polling)  # type: ignore[no-untyped-call]

        self._call(what, send)
        self._expected = [_key(targets)]

    def _split(self, service: run_v2.Service) -> TrafficSplit:
        canary = sum(s.percent for s in service.traffic_statuses if _short(s.revision) == self._canary)
        return TrafficSplit(service=self.service, baseline=self._baseline, canary=self._canary, canary_percent=canary)


def _key(targets: Sequence[run_v2.TrafficTarget]) -> list[tuple[int, str, int, str]]:
    return sorted((int(t.type_), t.revision, t.percent, t.tag) for t in targets)


def _first_line(message: str | None) -> str:
    return (message or "").strip().splitlines()[0] if (message or "").strip() else "no detail"
