"""A local Cloud Run Admin API (v2): the real gRPC wire protocol, in-memory services.

Tests point the real `run_v2.ServicesClient` / `RevisionsClient` at it, so
request building, routing headers, the long-running operation and its polling
are the code that runs against Google. It implements
`google.cloud.run.v2.Services` GetService/UpdateService,
`google.cloud.run.v2.Revisions` GetRevision/ListRevisions and the
`google.longrunning.Operations` service the client polls. As on Cloud Run,
an update changes the service's spec (`traffic`, `generation`, `etag`) at
once and its observed state (`traffic_statuses`, `reconciling`) only when the
operation completes (after `polls_to_finish` GetOperation calls): a caller
that does not wait sees the old split in force.

It enforces what Cloud Run refuses: traffic percentages that do not sum to
100, a revision not of this service, a stale etag; and can be told to fail
the next calls of a method (`fail("UpdateService", PERMISSION_DENIED)`).
"""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import grpc
from google.cloud.run_v2.types import revision as revision_types
from google.cloud.run_v2.types import service as service_types
from google.cloud.run_v2.types import traffic_target
from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf import any_pb2

__all__ = ["FakeCloudRun"]

_REVISION = traffic_target.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
_LATEST = traffic_target.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST


class _Abort(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class _Pending:
    name: str
    service: str
    traffic: list[traffic_target.TrafficTarget]
    polls_left: int
    done: bool = False
    error: tuple[int, str] | None = None


@dataclass
class _Stored:
    service: service_types.Service
    revisions: list[str] = field(default_factory=list)
    generation: int = 1
    latest_operation: str = ""


def _serialize(message: Any) -> bytes:
    pb = type(message).pb(message) if hasattr(type(message), "pb") else message
    return bytes(pb.SerializeToString())


class FakeCloudRun:
    """An in-process Cloud Run Admin API on 127.0.0.1 (port 0 → any free port).

    ```python
    with FakeCloudRun() as fake:
        fake.add_service("projects/p/locations/l/services/s", ["s-001", "s-002"], {"s-001": 100})
        client = make_services_client(fake.endpoint)
    ```
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, polls_to_finish: int = 2,
        on_applied: Callable[[str, dict[str, int]], None] | None = None,
    ) -> None:  # fmt: skip
        self._address = (host, port)
        self._on_applied = on_applied
        self._lock = threading.Lock()
        self._server: grpc.Server | None = None
        self._services: dict[str, _Stored] = {}
        self._operations: dict[str, _Pending] = {}
        self._faults: dict[str, list[list[Any]]] = defaultdict(list)
        self._operation_errors: list[tuple[int, str]] = []
        self._ids = itertools.count(1)
        self.polls_to_finish = polls_to_finish
        """GetOperation calls an update's operation answers `done=False` to before it is applied."""
        self.port = 0
        self.calls: list[tuple[str, Any]] = []
        """Every request received, in order, as (method, request message)."""

    # --- lifecycle -------------------------------------------------------
    @property
    def endpoint(self) -> str:
        """`HOST:PORT` for the router's `endpoint=`."""
        return f"{self._address[0]}:{self.port}"

    def start(self) -> FakeCloudRun:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="fake-cloudrun"))
        server.add_generic_rpc_handlers((
            grpc.method_handlers_generic_handler("google.cloud.run.v2.Services", {
                "GetService": self._unary("GetService", self._get_service, service_types.GetServiceRequest),
                "UpdateService": self._unary("UpdateService", self._update_service,
                                             service_types.UpdateServiceRequest),
            }),
            grpc.method_handlers_generic_handler("google.cloud.run.v2.Revisions", {
                "GetRevision": self._unary("GetRevision", self._get_revision, revision_types.GetRevisionRequest),
                "ListRevisions": self._unary("ListRevisions", self._list_revisions,
                                             revision_types.ListRevisionsRequest),
            }),
        ))  # fmt: skip
        operations_pb2_grpc.add_OperationsServicer_to_server(_Operations(self), server)
        self.port = server.add_insecure_port(f"{self._address[0]}:{self._address[1]}")
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop(grace=None).wait(5)

    def __enter__(self) -> FakeCloudRun:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- test controls ---------------------------------------------------
    def add_service(self, name: str, revisions: Sequence[str], split: dict[str, int] | None = None) -> None:
        """A service with `revisions` (oldest first) and `split` revision → percent (default: LATEST 100)."""
        short = name.rsplit("/", 1)[-1]
        traffic = (
            [traffic_target.TrafficTarget(type_=_REVISION, revision=r, percent=p) for r, p in split.items()]
            if split else [traffic_target.TrafficTarget(type_=_LATEST, percent=100)]
        )
        service = service_types.Service(
            name=name, uid=f"uid-{short}", generation=1, traffic=traffic, etag="1",
            latest_ready_revision=f"{name}/revisions/{revisions[-1]}",
            latest_created_revision=f"{name}/revisions/{revisions[-1]}",
        )
        with self._lock:
            self._services[name] = _Stored(service, list(revisions))
            self._apply_statuses(self._services[name], traffic)

    def traffic(self, name: str) -> dict[str, int]:
        """The split in force (`traffic_statuses`), revision → percent, LATEST resolved."""
        with self._lock:
            return {t.revision: t.percent for t in self._services[name].service.traffic_statuses if t.percent}

    def fail(self, method: str, code: grpc.StatusCode, *, times: int = 1, message: str = "injected") -> None:
        """Make the next `times` calls of `method` fail with `code` and `message`."""
        with self._lock:
            self._faults[method].append([code, times, message])

    def fail_next_operation(self, code: grpc.StatusCode, message: str) -> None:
        """The next update is accepted, then its operation completes with `code` (a rollout that failed)."""
        with self._lock:
            self._operation_errors.append((code.value[0], message))

    def calls_to(self, method: str) -> list[Any]:
        with self._lock:
            return [request for name, request in self.calls if name == method]

    # --- the API ---------------------------------------------------------
    def _unary(self, name: str, handler: Callable[[Any], Any], request_type: Any) -> grpc.RpcMethodHandler:
        def serve(request: Any, context: grpc.ServicerContext) -> Any:
            with self._lock:
                self.calls.append((name, request))
                queue = self._faults.get(name)
                fault = queue[0] if queue else None
                if fault is not None:
                    fault[1] -= 1
                    if fault[1] <= 0:
                        queue.pop(0)  # type: ignore[union-attr]
            if fault is not None:
                context.abort(fault[0], fault[2])
            try:
                with self._lock:
                    return handler(request)
            except _Abort as exc:
                context.abort(exc.code, str(exc))

        return grpc.unary_unary_rpc_method_handler(
            serve, request_deserializer=request_type.deserialize, response_serializer=_serialize
        )

    def _stored(self, name: str) -> _Stored:
        if name not in self._services:
            raise _Abort(grpc.StatusCode.NOT_FOUND, f"Resource '{name.rsplit('/', 1)[-1]}' of kind 'SERVICE' "
                                                    f"in region '{name.split('/')[3]}' does not exist.")
        return self._services[name]

    def _get_service(self, request: service_types.GetServiceRequest) -> service_types.Service:
        return self._stored(request.name).service

    def _update_service(self, request: service_types.UpdateServiceRequest) -> operations_pb2.Operation:
        stored = self._stored(request.service.name)
        if request.service.etag and request.service.etag != stored.service.etag:
            raise _Abort(grpc.StatusCode.ABORTED, "etag mismatch: the service was changed by someone else")
        traffic = list(request.service.traffic)
        if sum(t.percent for t in traffic) != 100:
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT,
                         f"traffic percentages must sum to 100, got {sum(t.percent for t in traffic)}")
        for target in traffic:
            if target.type_ == _REVISION and target.revision not in stored.revisions:
                raise _Abort(grpc.StatusCode.NOT_FOUND, f"Revision named '{target.revision}' with parent "
                                                        f"service '{stored.service.name}' not found.")
        pending = _Pending(f"{request.service.name.rsplit('/services/', 1)[0]}/operations/op-{next(self._ids)}",
                           stored.service.name, traffic, self.polls_to_finish)
        self._operations[pending.name] = pending
        if self._operation_errors:
            pending.error = self._operation_errors.pop(0)
        stored.latest_operation = pending.name
        stored.generation += 1
        stored.service.traffic = traffic
        stored.service.generation = stored.generation
        stored.service.etag = str(stored.generation)
        stored.service.reconciling = True
        if pending.polls_left <= 0:
            self._finish(pending)
        return self._operation(pending)

    def _finish(self, pending: _Pending) -> None:
        stored = self._services[pending.service]
        pending.done = True
        if pending.error is not None:
            return  # nothing applied; the spec keeps the failed update, as Cloud Run's does
        if stored.latest_operation == pending.name:  # an older update finishing late changes nothing
            stored.service.reconciling = False
            self._apply_statuses(stored, pending.traffic)
            if self._on_applied is not None:
                self._on_applied(pending.service, {t.revision: t.percent for t in stored.service.traffic_statuses
                                                   if t.percent})

    @staticmethod
    def _apply_statuses(stored: _Stored, traffic: Sequence[traffic_target.TrafficTarget]) -> None:
        latest = stored.service.latest_ready_revision.rsplit("/", 1)[-1]
        stored.service.traffic_statuses = [
            traffic_target.TrafficTargetStatus(
                type_=t.type_, revision=t.revision if t.type_ == _REVISION else latest, percent=t.percent, tag=t.tag
            )
            for t in traffic
        ]

    def _operation(self, pending: _Pending) -> operations_pb2.Operation:
        packed = any_pb2.Any()
        packed.Pack(service_types.Service.pb(self._services[pending.service].service))
        op = operations_pb2.Operation(name=pending.name, done=pending.done, metadata=packed)
        if pending.done and pending.error is not None:
            op.error.code, op.error.message = pending.error
        elif pending.done:
            op.response.CopyFrom(packed)
        return op

    def _poll(self, name: str) -> operations_pb2.Operation:
        with self._lock:
            self.calls.append(("GetOperation", name))
            pending = self._operations.get(name)
            if pending is None:
                raise _Abort(grpc.StatusCode.NOT_FOUND, f"operation {name} not found")
            if not pending.done:
                pending.polls_left -= 1
                if pending.polls_left <= 0:
                    self._finish(pending)
            return self._operation(pending)

    def _get_revision(self, request: revision_types.GetRevisionRequest) -> revision_types.Revision:
        service, _, short = request.name.rpartition("/revisions/")
        if short not in self._stored(service).revisions:
            raise _Abort(grpc.StatusCode.NOT_FOUND, f"Revision named '{short}' with parent service "
                                                    f"'{service}' not found.")
        return revision_types.Revision(name=request.name, service=service.rsplit("/", 1)[-1])

    def _list_revisions(self, request: revision_types.ListRevisionsRequest) -> revision_types.ListRevisionsResponse:
        stored = self._stored(request.parent)
        return revision_types.ListRevisionsResponse(revisions=[
            revision_types.Revision(name=f"{request.parent}/revisions/{r}") for r in reversed(stored.revisions)
        ])


class _Operations(operations_pb2_grpc.OperationsServicer):  # type: ignore[misc]  # generated, untyped
    """google.longrunning.Operations over the fake's pending updates."""

    def __init__(self, fake: FakeCloudRun) -> None:
        self._fake = fake

    def GetOperation(  # noqa: N802 (the gRPC method's name)
        self, request: operations_pb2.GetOperationRequest, context: grpc.ServicerContext
    ) -> operations_pb2.Operation:
        try:
            return self._fake._poll(request.name)
        except _Abort as exc:
            context.abort(exc.code, str(exc))
            raise  # unreachable: abort raises

    def WaitOperation(  # noqa: N802
        self, request: operations_pb2.WaitOperationRequest, context: grpc.ServicerContext
    ) -> operations_pb2.Operation:
        return self.GetOperation(operations_pb2.GetOperationRequest(name=request.name), context)



def main(argv: Sequence[str] | None = None) -> int:
    """`python -m harness.routers._fake_cloudrun --service NAME --revisions A,B --split A=100`:
    a fake to rehearse `--router cloudrun --cloudrun-endpoint 127.0.0.1:PORT` without Google.

    Prints `listening on HOST:PORT`, then the split in force after every completed update; stops on SIGTERM/Ctrl-C.
    """
    import argparse
    import signal

    parser = argparse.ArgumentParser(prog="python -m harness.routers._fake_cloudrun", description=main.__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--service", default="projects/demo/locations/europe-west1/services/edge")
    parser.add_argument("--revisions", default="edge-00001-aaa,edge-00002-bbb", help="oldest first")
    parser.add_argument("--split", default="", help="REV=PCT,… (default: LATEST 100)")
    parser.add_argument("--polls", type=int, default=2, help="GetOperation polls before an update completes")
    args = parser.parse_args(argv)
    split = {name: int(pct) for name, _, pct in (item.partition("=") for item in args.split.split(",") if item)}
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with FakeCloudRun(port=args.port, polls_to_finish=args.polls,
                      on_applied=lambda _, split: print(f"traffic {split}", flush=True)) as fake:
        fake.add_service(args.service, args.revisions.split(","), split or None)
        print(f"listening on {fake.endpoint}", flush=True)
        print(f"traffic {fake.traffic(args.service)}", flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
