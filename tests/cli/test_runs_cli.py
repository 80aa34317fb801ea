"""backprop-lab runs / eval against a real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from app.config import Settings
from app.graph.examples import get_example
from support.live_server import LiveServer

TINY = ["--iterations", "200", "--eval-every", "100", "--train-limit", "2000", "--test-limit", "500", "--seed", "3"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(Settings(data_dir=tmp_path_factory.mktemp("cli"), max_running=2)) as s:
        yield s


def test_start_follow_prints_the_final_figures(server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "start", "--url", server.url, *TINY, "--follow", "--json"]) == 0
    out, err = capsys.readouterr()
    final = json.loads(out.strip().splitlines()[-1])
    assert final["status"] == "done" and final["iterations"] == 200 and final["test_acc"] > 0.7
    assert "200/200" in err and "token" in err
    assert main(["runs", "list", "--url", server.url]) == 0
    listing = capsys.readouterr().out
    assert final["id"] in listing and "done" in listing
    assert main(["runs", "show", final["id"], "--url", server.url]) == 0
    assert "iteration    200" in capsys.readouterr().out


def test_stop_needs_the_right_token(server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "start", "--url", server.url, "--iterations", "1000000", "--train-limit", "1000", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert main(["runs", "stop", created["id"], "--url", server.url, "--token", "nope"]) == 1
    assert "403" in capsys.readouterr().err
    assert main(["runs", "stop", created["id"], "--url", server.url, "--token", created["token"]]) == 0
    assert main(["runs", "follow", created["id"], "--url", server.url]) == 1  # ends as stopped
    assert "stopped" in capsys.readouterr().out


def test_bad_flags_are_argparse_errors(server: LiveServer, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["runs", "start", "--url", server.url, "--batch-size", "0"])
    assert info.value.code == 2 and "--batch-size" in capsys.readouterr().err


def test_eval_locally_and_on_the_server(server: LiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "apple.json"
    path.write_text(json.dumps(get_example("apple")))
    assert main(["eval", str(path)]) == 0
    local = capsys.readouterr().out
    assert main(["eval", str(path), "--url", server.url]) == 0
    assert capsys.readouterr().out == local
    assert "220" in local and "2.2" in local and "110" in local and "200" in local
    assert main(["eval", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["nodes"]["tax"]["grad"] == pytest.approx(200)


def test_unreachable_server_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "list", "--url", "http://127.0.0.1:9"]) == 1
    assert "cannot reach" in capsys.readouterr().err
