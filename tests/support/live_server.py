"""A real uvicorn server on 127.0.0.1 for tests that need streaming or a process to kill."""

from __future__ import annotations

import os
import signal
import socket
import subprocess as sp
import sys
import threading
import time
from types import TracebackType

import httpx
import uvicorn

from app.config import Settings
from app.main import create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, settings: Settings, subprocess: bool = False) -> None:
        self.settings, self.subprocess = settings, subprocess
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: sp.Popen[bytes] | None = None
        self.server: uvicorn.Server | None = None

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def __enter__(self) -> LiveServer:
        if self.subprocess:
            env = {**os.environ, "BACKPROP_LAB_DATA_DIR": str(self.settings.data_dir),
                   "BACKPROP_LAB_MAX_RUNNING": str(self.settings.max_running),
                   "BACKPROP_LAB_QUEUE_SIZE": str(self.settings.queue_size)}
            self.proc = sp.Popen([sys.executable, "-m", "app", "serve", "--port", str(self.port)], env=env,
                                 stdout=sp.DEVNULL, stderr=sp.DEVNULL)
        else:
            config = uvicorn.Config(create_app(self.settings), host="127.0.0.1", port=self.port, log_level="warning")
            self.server = uvicorn.Server(config)
            threading.Thread(target=self.server.run, daemon=True).start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("the server did not start")

    def kill(self) -> None:
        """kill -9: no shutdown hooks run."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                self.proc.wait(10)
        elif self.server is not None:
            self.server.should_exit = True
            time.sleep(0.2)
