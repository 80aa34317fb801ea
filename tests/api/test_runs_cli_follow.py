"""backprop-lab runs follow/show at the edges: an unknown run, a server that goes away, a finished run's figures."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from app.cli import main, runs_cmd
from app.config import Settings
from support.live_server import LiveServer

TINY = ["--iterations", "200", "--eval-every", "100", "--train-limit", "2000", "--test-limit", "500", "--seed", "3"]


def test_follow_an_unknown_run_is_a_clear_404(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # it was a KeyError traceback: the run's config was read from the 404's body
    with LiveServer(Settings(data_dir=tmp_path)) as s:
        assert main(["runs", "follow", "nosuchrun", "--url", s.url]) == 1
    err = capsys.readouterr().err
    assert "404" in err and "nosuchrun" in err and "Traceback" not in err


def test_follow_gives_up_when_the_server_is_gone(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # it retried every second forever: a hang
    monkeypatch.setattr(runs_cmd, "RECONNECT_FOR", 2.0)
    with LiveServer(Settings(data_dir=tmp_path, max_running=1), subprocess=True) as s:
        assert main(["runs", "start", "--url", s.url, "--iterations", "1000000", "--train-limit", "1000",
                     "--test-limit", "100", "--json"]) == 0
        run_id = json.loads(capsys.readouterr().out)["id"]
        killer = threading.Timer(1.5, s.kill)
        killer.start()
        t = time.monotonic()
        code = main(["runs", "follow", run_id, "--url", s.url])
        took = time.monotonic() - t
        killer.join()
    err = capsys.readouterr().err
    assert code == 1 and "lost the server" in err and f"runs follow {run_id}" in err
    assert 2.0 < took < 10, took


def test_show_prints_the_final_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with LiveServer(Settings(data_dir=tmp_path)) as s:
        assert main(["runs", "start", "--url", s.url, *TINY, "--follow", "--json"]) == 0
        final = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert main(["runs", "show", final["id"], "--url", s.url]) == 0
        out = capsys.readouterr().out
        assert main(["runs", "follow", final["id"], "--url", s.url]) == 0  # a replay: no meaningless speed
        replay = capsys.readouterr().err
    assert f"final train acc {final['train_acc']:.4f}  test acc {final['test_acc']:.4f}  loss {final['loss']:.4f}" in out
    assert "trained for" in out
    assert "200/200" in replay and "it/s" not in replay
