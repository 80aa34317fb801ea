"""Bad input to serve and eval ends in one clear line and a status, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from app.cli import main
from app.graph.examples import get_example


@pytest.mark.parametrize("value", ["70000", "-5", "http"])
def test_serve_port_out_of_range_is_a_usage_error(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["serve", "--port", value])
    assert e.value.code == 2
    assert "argument --port: must be an integer from 0 to 65535" in capsys.readouterr().err


def test_eval_file_that_is_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "graph.json"
    path.write_bytes(b"\xff\xfe{}")
    assert main(["eval", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"backprop-lab eval: cannot read {path}: ") and "utf-8" in err


def test_eval_against_something_that_is_not_the_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "apple.json"
    path.write_text(json.dumps(get_example("apple")))
    answers = iter([httpx.Response(404, text="<html>Not here</html>"), httpx.Response(200, text="hello"),
                    httpx.Response(200, json={"ok": True})])
    monkeypatch.setattr(httpx, "post", lambda *a, **kw: next(answers))
    for shown in ("404: <html>Not here</html>", "200: hello", '200: {"ok":true}'):
        assert main(["eval", str(path), "--url", "http://127.0.0.1:9"]) == 1
        assert f"backprop-lab eval: http://127.0.0.1:9 answered {shown}" in capsys.readouterr().err
