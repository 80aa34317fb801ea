"""backprop-lab train and gradcheck, through the real command-line entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.nn.two_layer_net import TwoLayerNet

SMALL = ["--train-limit", "2000", "--test-limit", "500", "--iterations", "60", "--eval-every", "20", "--seed", "4"]


def test_train_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", *SMALL, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["iterations"] == 60 and out["seed"] == 4 and out["seconds"] > 0 and not out["stopped"]
    assert 0.3 < out["final_test_acc"] <= 1 and 0.3 < out["final_train_acc"] <= 1  # 60 steps: past chance (0.1)
    assert [e["iteration"] for e in out["evaluations"]] == [20, 40, 60]
    assert out["final_test_acc"] == out["evaluations"][-1]["test_acc"]
    assert out["config"]["train_limit"] == 2000 and out["config"]["batch_size"] == 100


def test_the_books_experiment_by_default_reaches_the_books_accuracy(capsys: pytest.CaptureFixture[str]) -> None:
    """`backprop-lab train --json` with every default: 784-50-10, SGD 0.1, batch 100, 10,000 iterations (a few s)."""
    assert main(["train", "--json", "--seed", "0"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["config"] == {"dataset": "mnist", "hidden_size": 50, "activation": "relu", "weight_init": 0.01,
                             "optimizer": "sgd", "learning_rate": 0.1, "batch_size": 100, "iterations": 10000,
                             "epochs": None, "eval_every": 600, "seed": 0, "train_limit": None, "test_limit": None}
    assert out["iterations"] == 10000 and not out["stopped"] and out["seconds"] > 0
    assert [e["iteration"] for e in out["evaluations"]] == [*range(600, 10000, 600), 10000]
    assert out["final_test_acc"] >= 0.968 and out["final_train_acc"] >= 0.975  # the book: 0.969 and 0.978


def test_train_prints_progress_and_final_figures(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "net.npz"
    assert main(["train", *SMALL, "--save", str(path)]) == 0
    err = capsys.readouterr().err
    assert err.count("train acc") == 4  # one line per evaluation and the final figures
    assert "done: train acc" in err and "after 60 iterations" in err and "(seed 4)" in err
    net = TwoLayerNet.load(path)
    assert net.params["W1"].shape == (784, 50) and net.params["W1"].dtype == np.float32


@pytest.mark.parametrize("argv, message", [
    (["--batch-size", "0"], "argument --batch-size: must be an integer from 1 to 60000"),
    (["--learning-rate", "-1"], "argument --learning-rate: must be a number > 0"),
    (["--optimizer", "rmsprop"], "argument --optimizer: must be one of 'sgd', 'momentum', 'adagrad', 'adam'"),
    (["--dataset", "cifar"], "argument --dataset: unknown dataset 'cifar'"),
    (["--train-limit", "50"], "argument --batch-size: must be at most the 50 training images"),
    (["--hidden-size", "abc"], "argument --hidden-size: must be an integer from 1 to 2048"),
])
def test_bad_flags_exit_2_naming_flag_and_range(argv: list[str], message: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["train", *argv])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "usage: backprop-lab train" in err and message in err


def write_idx(path: Path, array: np.ndarray) -> None:
    """The IDX format: magic (0, 0, 8 = ubyte, rank), big-endian sizes, then the bytes."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_train_on_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Any directory of MNIST-format files works from the CLI; the API accepts only names."""
    rng = np.random.default_rng(0)
    for split, n in (("train", 300), ("t10k", 50)):
        labels = rng.integers(0, 3, n)
        images = np.zeros((n, 4, 4), np.uint8)
        images[np.arange(n), labels, labels] = 255  # class k lights pixel (k, k): learnable
        write_idx(tmp_path / f"{split}-images-idx3-ubyte", images)
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte", labels)
    assert main(["train", "--dataset", str(tmp_path), "--iterations", "300", "--batch-size", "30",
                 "--weight-init", "xavier", "--learning-rate", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["iterations"] == 300 and out["final_test_acc"] == 1.0


def test_gradcheck_small(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gradcheck", "--hidden-size", "4", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    for key in ("W1:", "b1:", "W2:", "b2:", "kink:", "time: backprop"):
        assert key in out
    assert main(["gradcheck", "--hidden-size", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["hidden_size"] == 4 and all(v < 1e-6 for v in result["diffs"].values())
    assert result["numerical_seconds"] > result["backprop_seconds"] > 0 and "explanation" in result


def test_gradcheck_bad_seed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["gradcheck", "--seed", "-1"])
    assert e.value.code == 2 and "must be an integer from 0 to" in capsys.readouterr().err


def test_progress_bar_on_a_terminal() -> None:
    import io

    from app.cli.train_cmd import Bar
    from app.training.loop import Progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    bar = Bar(out, width=10)
    net = TwoLayerNet(2, 2, 2, seed=0)
    bar(Progress("loss", 50, 100, 0.5, 1.0, net, losses=(0.75, 0.5)))
    bar(Progress("eval", 100, 100, 1.0, 2.0, net, train_acc=0.9, test_acc=0.875))
    text = out.getvalue()
    assert "\r[#####.....] 50/100  loss 0.5000" in text
    assert "epoch   1.00  iteration     100  train acc 0.9000  test acc 0.8750" in text
    # the bar is redrawn under the line, with the last loss and the new accuracy
    assert text.endswith("[##########] 100/100  loss 0.5000  test acc 0.8750  2.0 s\x1b[K")


@pytest.mark.parametrize("where, message", [
    ("missing/net.npz", "argument --save: the directory {tmp}/missing does not exist"),
    (".", "argument --save: {tmp} is a directory"),
])
def test_bad_save_path_is_refused_before_training(where: str, message: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["train", *SMALL, "--save", str(tmp_path / where)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert message.format(tmp=tmp_path) in err and "train acc" not in err  # no training was done
    assert list(tmp_path.iterdir()) == []


def test_save_without_npz_says_which_file_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", *SMALL, "--save", str(tmp_path / "net")]) == 0
    assert f"weights saved to {tmp_path / 'net.npz'}" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]
