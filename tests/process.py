"""Running the service in a child process on a free loopback port: the harness that the tests,
the HTTP benchmark and the cold-start measurement share.

The server gets its own process session, so stopping its process group stops BentoML's whole
tree (supervisor and workers) and nothing outlives the caller.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent


class ServiceNotReady(RuntimeError):
    """The server exited or did not answer /readyz in time; the message holds its log."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServiceProcess:
    """``stance serve`` for ``model_dir`` on 127.0.0.1, with a private ``BENTOML_HOME``."""

    def __init__(self, model_dir: Path, home: Path, token: str | None = None,
                 extra_env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        home = Path(home)
        self.log = home / f"server-{self.port}.log"
        # A private corpus store too, so POST /articles never writes into the working directory.
        env = {**os.environ, "BENTOML_HOME": str(home), "BENTOML_DO_NOT_TRACK": "True",
               "STANCE_DB": str(home / f"corpus-{self.port}.duckdb"), **(extra_env or {})}
        self.db = Path(env["STANCE_DB"])
        env.pop("STANCE_API_TOKEN", None)
        if token:
            env["STANCE_API_TOKEN"] = token
        self.started = time.perf_counter()
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "stance.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port), "--model", str(model_dir)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 180, poll: float = 0.2) -> float:
        """Block until /readyz answers 200; return seconds since the process was started.

        ``poll`` is the interval between checks, and so the resolution of the returned time.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceNotReady(
                    f"server exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return time.perf_counter() - self.started
            except httpx.TransportError:
                pass
            time.sleep(poll)
        self.stop()
        raise ServiceNotReady(f"server not ready after {timeout} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        """SIGTERM to the server's process group, SIGKILL after 30 s, then to any process of its
        tree that left the group (BentoML's workers run in sessions of their own)."""
        if self.process.poll() is not None:
            return
        try:
            tree = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            tree = []
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        _, alive = psutil.wait_procs(tree, timeout=10)
        for process in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        psutil.wait_procs(alive, timeout=10)

    def __enter__(self) -> ServiceProcess:
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
