"""Start and stop the real services the scaling-out tests use: a throw-away PostgreSQL cluster
(Debian's ``postgresql`` package: ``initdb`` + ``pg_ctl`` under a temporary folder, on 127.0.0.1)
and a Dask scheduler with worker processes on 127.0.0.1.

``.ci/run`` starts both before the tests and stops them after::

    python -m tools.services start --dir /tmp/ml-services     # prints export lines for the shell
    python -m tools.services stop --dir /tmp/ml-services

The export lines set ``METALEARN_TEST_PG`` (a postgresql:// URL) and ``METALEARN_TEST_DASK`` (the
scheduler's tcp:// address), which the tests' fixtures read. The product itself never needs
either: its defaults are SQLite and local processes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_binary(name: str) -> str:
    """``initdb``/``pg_ctl`` from PATH, else from Debian's versioned folder."""
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / name).exists():
            return str(folder / name)
    raise FileNotFoundError(f"{name} not found: install Debian's postgresql package")


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def start_postgres(folder: Path, port: int | None = None) -> str:
    """Create a cluster in ``folder``/pg and start it on 127.0.0.1; returns its URL.

    Durability is traded for speed (``fsync=off``): the cluster lives as long as a test run."""
    folder = Path(folder)
    data, sockets = folder / "pg", folder / "pg-socket"
    port = port or free_port()
    folder.mkdir(parents=True, exist_ok=True)
    sockets.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        import pwd

        user = pwd.getpwnam("postgres")
        for path in (folder, sockets):
            os.chown(path, user.pw_uid, user.pw_gid)
            path.chmod(0o755)
        parent = folder.parent
        while parent != parent.parent:  # the postgres user must be able to reach the folder
            parent.chmod(parent.stat().st_mode | 0o111)
            parent = parent.parent
    subprocess.run(_as_postgres([_pg_binary("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                                 "-E", "UTF8", "--no-instructions"]), check=True, stdout=subprocess.DEVNULL)
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off " \
              f"-c full_page_writes=off -c max_connections=200"
    subprocess.run(_as_postgres([_pg_binary("pg_ctl"), "-D", str(data), "-o", options, "-l",
                                 str(folder / "pg.log"), "-w", "-t", "60", "start"]), check=True,
                   stdout=subprocess.DEVNULL)
    (folder / "pg.port").write_text(str(port))
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def stop_postgres(folder: Path) -> None:
    data = Path(folder) / "pg"
    if (data / "postmaster.pid").exists():
        subprocess.run(_as_postgres([_pg_binary("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def create_database(url: str, name: str) -> str:
    """A fresh database ``name`` on the server of ``url`` (dropped first if it exists); its URL."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


def _wait_for_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f} s")


def start_dask(folder: Path, workers: int = 2, port: int | None = None) -> str:
    """Start a scheduler and ``workers`` worker processes (one thread each, resource ``runs=1``, so
    one run takes one worker) on 127.0.0.1; returns the scheduler's address."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    bin_dir = Path(sys.executable).parent
    scheduler = subprocess.Popen(
        [str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=open(folder / "scheduler.log", "ab"), stderr=subprocess.STDOUT, env=env, cwd=str(ROOT),
        start_new_session=True)
    _wait_for_port("127.0.0.1", port, 60)
    worker = subprocess.Popen(
        [str(bin_dir / "dask"), "worker", address, "--nworkers", str(workers), "--nthreads", "1",
         "--resources", "runs=1", "--no-dashboard", "--local-directory", str(folder / "workers"),
         "--memory-limit", "0"],
        stdout=open(folder / "workers.log", "ab"), stderr=subprocess.STDOUT, env=env, cwd=str(ROOT),
        start_new_session=True)
    (folder / "dask.pids").write_text(f"{scheduler.pid} {worker.pid}")
    _wait_for_workers(address, workers, 120)
    return address


def _wait_for_workers(address: str, count: int, timeout: float) -> None:
    from distributed import Client

    with Client(address, timeout=timeout) as client:
        client.wait_for_workers(count, timeout=timeout)


def stop_dask(folder: Path) -> None:
    pids = Path(folder) / "dask.pids"
    if not pids.exists():
        return
    for pid in reversed([int(item) for item in pids.read_text().split()]):
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    pids.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start or stop the test services (PostgreSQL, Dask).")
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("--dir", required=True, help="a folder for the cluster, logs and pids")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    folder = Path(args.dir)
    if args.action == "stop":
        stop_dask(folder)
        stop_postgres(folder)
        return 0
    if not args.no_postgres:
        print(f"export METALEARN_TEST_PG={start_postgres(folder)}")
    if not args.no_dask:
        print(f"export METALEARN_TEST_DASK={start_dask(folder, args.workers)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
