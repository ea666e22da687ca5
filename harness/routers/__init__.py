"""Traffic routers: how a rollout shifts a share of real traffic to the canary.

One Protocol (`TrafficRouter`, in `_base`), several implementations, each in
its own module so that only the one in use is imported (the Cloud Run one
pulls in gRPC):

- `harness.routers.edge`: the embedded edge's `/admin/traffic`;
- `harness.routers.cloudrun`: a Cloud Run service's revision traffic split;
- `harness.routers.command`: a shell command template per weight.
"""

from harness.routers._base import TrafficRouter, TrafficSplit

__all__ = ["TrafficRouter", "TrafficSplit"]
