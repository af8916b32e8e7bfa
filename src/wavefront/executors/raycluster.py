"""Reaching a Ray cluster: Ray itself (the `ray` extra), the connection, its nodes.

Everything that can go wrong before the first attempt (Ray not installed, no cluster at
the address) becomes one `WavefrontError` line, so `wavefront run --executor ray` exits
with code 2 and no traceback. Ray is imported here only, and only when a Ray command
runs; it is typed `Any` at this boundary (its own annotations are partial).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

from wavefront.errors import WavefrontError

__all__ = ["NAMESPACE", "NodeInfo", "agent_resource", "connect", "import_ray", "nodes"]

NAMESPACE = "wavefront"
# How long a cluster may take to accept a connection before it counts as unreachable.
_REACH_TIMEOUT_S = 5.0
# Ray turns a loopback address into the machine's own outside address unless told that
# the cluster is a local one; a cluster started on 127.0.0.1 listens on that address only.
_LOCAL_CLUSTER = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class NodeInfo:
    """One node of the cluster as Ray reports it."""

    node_id: str
    address: str
    alive: bool
    resources: dict[str, float]
    head: bool


def agent_resource(runner: str) -> str:
    """The Ray resource a worker offers for each agent of `runner` it can run at once."""
    return runner


def import_ray(address: str | None = None) -> Any:
    """Ray, or a `WavefrontError` that says how to install it."""
    if importlib.util.find_spec("ray") is None:
        raise WavefrontError("the Ray executor needs Ray, which is not installed: "
                             "pip install 'wavefront[ray]'")
    if address is not None and _host(address) in _LOOPBACK:
        os.environ.setdefault(_LOCAL_CLUSTER, "0")  # read by Ray when it is imported
    return importlib.import_module("ray")


def connect(address: str) -> Any:
    """Connect this process to the cluster at `address` (host:port of its head) once."""
    ray = import_ray(address)
    if ray.is_initialized():
        return ray
    host, port = _host(address), _port(address)
    try:
        with socket.create_connection((host, port), timeout=_REACH_TIMEOUT_S):
            pass
    except OSError as exc:
        raise WavefrontError(f"cannot reach the Ray cluster at {address}: "
                             f"{exc.strerror or exc}; start it with `ray start --head` "
                             "or pass the head's address") from None
    try:
        ray.init(address=address, namespace=NAMESPACE, log_to_driver=False,
                 logging_level=logging.WARNING, configure_logging=True)
    except Exception as exc:  # Ray raises several kinds; all mean the same to the user
        first = str(exc).strip().splitlines()[:1] or [type(exc).__name__]
        raise WavefrontError(f"cannot connect to the Ray cluster at {address}: "
                             f"{first[0]}") from None
    return ray


def nodes(ray: Any) -> list[NodeInfo]:
    """The cluster's nodes, alive ones first."""
    found = [NodeInfo(node_id=str(n["NodeID"]), address=str(n.get("NodeManagerAddress", "")),
                      alive=bool(n.get("Alive")),
                      resources={str(k): float(v) for k, v in n.get("Resources", {}).items()},
                      head="node:__internal_head__" in n.get("Resources", {}))
             for n in ray.nodes()]
    return sorted(found, key=lambda node: (not node.alive, not node.head, node.node_id))


def _host(address: str) -> str:
    host = address.rsplit(":", 1)[0] if ":" in address else address
    return host.strip("[]").removeprefix("ray://")


def _port(address: str) -> int:
    _, _, port = address.rpartition(":")
    if not port.isdigit():
        raise WavefrontError(f"--address {address!r}: expected HOST:PORT of the Ray head "
                             "(for example 127.0.0.1:6379)")
    return int(port)
