"""Starts a Milvus standalone server from the `milvus` wheel inside a network namespace, and watches two processes.

Run by `tests/servers/milvus.py` as `ip netns exec NAMESPACE python -I milvus_launch.py DATA_DIR OWNER_PID`, in a
process group of its own. It is a script, not a module of the test package: the namespace's Python needs nothing
but the `milvus` package.

- Every port is given explicitly. The wrapper probes a port by binding it, and moves silently to the next free one
  when a probe fails; a port given explicitly is refused instead, so the server is where the tests look for it.
- `net.ipv4.tcp_max_tw_buckets = 0` in this namespace: a SIGKILLed server leaves no TIME_WAIT sockets, so a
  restart on the same data directory binds the same ports.
- The wrapper does not notice that its server died; this script waits on the server process and exits with its
  status, so the harness sees a dead server as a dead launcher. It also stops the server when OWNER_PID (the test
  run) is gone, so a test run that is killed leaves no server behind.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

PORTS = {
    "proxy_port": 19530,
    "proxy_internal_port": 19529,
    "etcd_port": 2379,
    "root_coord_port": 53100,
    "query_coord_port": 19531,
    "query_node_port": 21123,
    "index_coord_port": 22930,
    "index_node_port": 21121,
    "data_coord_port": 13333,
    "data_node_port": 21124,
}
"""The wrapper's template defaults, given explicitly (see the module docstring)."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(data_dir: Path, owner: int) -> int:
    from milvus import MilvusServer, MilvusServerConfig

    Path("/proc/sys/net/ipv4/tcp_max_tw_buckets").write_text("0\n")
    server = MilvusServer(MilvusServerConfig(data_dir=str(data_dir), **PORTS), wait_for_started=False)
    server.start()
    process = server.server_proc
    ports = {"pid": process.pid, "port": server.listen_port, "healthz_port": server.webservice_port}
    (data_dir / "ports.json.tmp").write_text(json.dumps(ports))
    os.replace(data_dir / "ports.json.tmp", data_dir / "ports.json")
    while process.poll() is None:
        if not _alive(owner):
            process.kill()
            break
        time.sleep(0.5)
    return process.wait()


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), int(sys.argv[2])))
