"""A real Ray cluster on this machine for tests and benchmarks: a head with no agent
slots and worker nodes that offer `script` agents, all on 127.0.0.1.

Each node is a real raylet (its own processes, object store and worker processes);
`kill_node` SIGKILLs a node's raylet the way a machine that dies takes it away. The
nodes share this machine's disk, so each keeps its clones and workspaces in a folder of
its own (`WAVEFRONT_WORKER_DIR`/<node id>), as separate machines would.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
from pathlib import Path
from typing import Any

RAY_AVAILABLE = importlib.util.find_spec("ray") is not None
# Ray otherwise swaps 127.0.0.1 for the machine's outside address (see executors/raycluster).
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

_STORE = 80 * 1024 * 1024  # object store per node: bundles here are small


class LocalCluster:
    def __init__(self, worker_dir: Path, workers: int = 2, slots: int = 2,
                 resource: str = "script") -> None:
        from ray.cluster_utils import Cluster

        self.worker_dir = worker_dir
        os.environ["WAVEFRONT_WORKER_DIR"] = str(worker_dir)  # the raylets pass it on
        common: dict[str, Any] = {"node_ip_address": "127.0.0.1",
                                  "object_store_memory": _STORE}
        self.cluster = Cluster(initialize_head=True, head_node_args={
            **common, "num_cpus": 0, "include_dashboard": False})
        self.workers = [self.cluster.add_node(**common, num_cpus=slots,
                                              resources={resource: slots})
                        for _ in range(workers)]
        self.killed: set[str] = set()

    @property
    def address(self) -> str:
        return str(self.cluster.address)

    def node_dirs(self) -> dict[str, Path]:
        """Each worker node's folder (clones, workspaces), by node id."""
        return {node.node_id: self.worker_dir / node.node_id for node in self.workers}

    def kill_node(self, node_id: str) -> None:
        """SIGKILL the node's raylet and its worker processes, as a machine that dies takes
        them all (a worker whose raylet is gone could still hand in a result first); Ray
        then declares the node dead."""
        node = next(n for n in self.workers if n.node_id == node_id)
        raylet = node.all_processes["raylet"][0].process
        for pid in [raylet.pid, *_descendants(raylet.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        raylet.wait(30)
        self.killed.add(node_id)

    def shutdown(self) -> None:
        self.cluster.shutdown()


def _descendants(pid: int) -> list[int]:
    """Every process below `pid`, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found
