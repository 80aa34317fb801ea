"""The training loop: book-like schedule, callbacks, stopping, seeding, and that it learns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import threadpoolctl
from pydantic import ValidationError

from app.data import Dataset
from app.nn.two_layer_net import TwoLayerNet
from app.training.config import ConfigError, TrainConfig
from app.training.loop import Progress, prepare, train

SMALL = {"train_limit": 1000, "test_limit": 500, "iterations": 25, "eval_every": 10, "seed": 7}


def test_schedule_and_events() -> None:
    events: list[Progress] = []
    result = train(SMALL, on_progress=events.append)
    assert result.iterations == 25 and not result.stopped and len(result.losses) == 25
    assert [e.iteration for e in result.evals] == [10, 20, 25], "every eval_every iterations and at the end"
    assert [e.epoch for e in result.evals] == [1.0, 2.0, 2.5]  # 1000 images / batch 100 = 10 steps an epoch
    losses = [e for e in events if e.kind == "loss"]
    # every iteration's loss once, in order; none reported past an evaluation before its event
    assert np.array_equal(np.concatenate([e.losses for e in losses]), result.losses)
    assert [e.iteration - len(e.losses) for e in losses] == [0] + [e.iteration for e in losses[:-1]]
    marks = [(e.iteration, e.kind) for e in events]
    assert marks == sorted(marks, key=lambda m: (m[0], m[1] == "eval"))
    assert {(10, "loss"), (10, "eval"), (20, "loss"), (20, "eval"), (25, "loss"), (25, "eval")} <= set(marks)
    evals = [(e.iteration, e.train_acc, e.test_acc) for e in events if e.kind == "eval"]
    assert evals == [(e.iteration, e.train_acc, e.test_acc) for e in result.evals]
    assert result.final_test_acc == result.evals[-1].test_acc
    assert result.seconds > 0 and result.net.params["W1"].dtype == np.float32
    assert result.summary()["iterations"] == 25 and result.summary()["seed"] == 7


def test_the_books_default_schedule_has_17_evaluations() -> None:
    cfg = TrainConfig()
    marks = [i for i in range(1, cfg.iterations + 1) if i % cfg.eval_every == 0 and i < cfg.iterations]
    assert len(marks) + 1 == 17  # the loop adds the final one at 10,000


def test_report_every_batches_losses() -> None:
    events: list[Progress] = []
    result = train(SMALL, on_progress=events.append, report_every=10, overlap_eval=False)
    chunks = [len(e.losses) for e in events if e.kind == "loss"]
    assert chunks == [10, 10, 5]
    assert [e.loss for e in events if e.kind == "loss"] == [float(result.losses[i]) for i in (9, 19, 24)]


def test_overlapped_and_inline_evaluations_agree() -> None:
    a, b = train({**SMALL, "iterations": 40}), train({**SMALL, "iterations": 40}, overlap_eval=False)
    assert a.evals == b.evals and np.array_equal(a.losses, b.losses)


def test_overlap_is_decided_at_each_evaluation() -> None:
    """A worker overlaps an evaluation only while a core is spare: asked each time, the answer may change."""
    asked: list[int] = []

    def overlap() -> bool:
        asked.append(1)
        return len(asked) % 2 == 1

    events: list[Progress] = []
    mixed = train({**SMALL, "iterations": 60}, on_progress=events.append, overlap_eval=overlap)
    inline = train({**SMALL, "iterations": 60}, overlap_eval=False)
    assert len(asked) == 5  # the evaluations at 10..50; the last one (60) always waits
    assert [(e.iteration, e.train_acc, e.test_acc) for e in mixed.evals] == \
        [(e.iteration, e.train_acc, e.test_acc) for e in inline.evals]
    assert [p.iteration for p in events if p.kind == "eval"] == [10, 20, 30, 40, 50, 60]

def test_same_seed_identical_curves_other_seed_not() -> None:
    a, b = train(SMALL), train(SMALL)
    assert np.array_equal(a.losses, b.losses)
    assert a.evals == b.evals
    c = train({**SMALL, "seed": 8})
    assert not np.array_equal(a.losses, c.losses)


def test_random_seed_is_recorded_and_replays() -> None:
    a = train({**SMALL, "seed": None, "iterations": 5})
    assert a.config.seed is not None
    b = train({**SMALL, "seed": a.config.seed, "iterations": 5})
    assert np.array_equal(a.losses, b.losses)


def test_recorded_loss_is_the_forward_pass_that_made_the_gradient() -> None:
    from app.data import load_dataset

    result = train({**SMALL, "iterations": 1})
    ds = load_dataset("mnist")
    rng = np.random.default_rng(7)
    net = TwoLayerNet(784, 50, 10, 0.01, dtype=np.float32, rng=rng)  # the loop's init, from the same stream
    idx = rng.permutation(1000)[:100]
    assert result.losses[0] == pytest.approx(float(net.loss(ds.x_train[idx], ds.t_train[idx].astype(np.intp))), rel=1e-6)


def test_each_epoch_sees_every_image_once(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[np.ndarray] = []
    original = TwoLayerNet.value_and_gradient

    def spy(self: TwoLayerNet, x: np.ndarray, t: np.ndarray):  # noqa: ANN202
        seen.append(np.asarray(x))
        return original(self, x, t)

    monkeypatch.setattr(TwoLayerNet, "value_and_gradient", spy)
    train({"train_limit": 200, "test_limit": 10, "batch_size": 50, "iterations": 8, "seed": 1})
    from app.data import load_dataset

    first = load_dataset("mnist").x_train[:200]
    for epoch in (seen[:4], seen[4:]):
        rows = np.concatenate(epoch)
        assert rows.shape == (200, 784)
        assert np.array_equal(rows[np.lexsort(rows.T)], first[np.lexsort(first.T)])
    assert not np.array_equal(np.concatenate(seen[:4]), np.concatenate(seen[4:])), "a fresh order each epoch"


def test_stop_flag_is_checked_between_iterations() -> None:
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) > 6

    events: list[Progress] = []
    result = train({**SMALL, "iterations": 1000}, on_progress=events.append, should_stop=should_stop)
    assert result.stopped and result.iterations == 6 and len(result.losses) == 6
    assert result.evals[-1].iteration == 6, "the weights it has are evaluated on stopping"
    assert events[-1].kind == "eval" and events[-2].kind == "loss" and events[-2].iteration == 6


def test_snapshot_is_independent_of_the_live_net() -> None:
    snaps = []
    result = train(SMALL, on_progress=lambda p: snaps.append((p.snapshot(), p.net, p.kind)))
    first, live, kind = snaps[0]
    assert kind == "loss" and live is result.net and first is not result.net
    assert not np.array_equal(first.params["W1"], result.net.params["W1"])
    scored = next(net for _, net, kind in snaps if kind == "eval")
    assert scored is not result.net, "an eval event carries the weights it scored"
    from app.data import load_dataset

    ds = load_dataset("mnist")
    assert scored.accuracy(ds.x_test[:500], ds.t_test[:500].astype(np.intp)) == result.evals[0].test_acc
    x = np.zeros((1, 784), np.float32)
    assert first.predict(x).shape == (1, 10)


def test_one_epoch_reaches_88_percent() -> None:
    """600 iterations = one epoch of the book's experiment (its first evaluations read ~0.90 there)."""
    result = train({"iterations": 600, "seed": 0})
    assert result.final_test_acc >= 0.88, result.final_test_acc
    assert result.losses[:50].mean() > 2 * result.losses[-50:].mean()


@pytest.mark.parametrize("extra", [{"optimizer": "adam", "learning_rate": 0.001, "weight_init": "he"},
                                   {"optimizer": "momentum", "learning_rate": 0.05, "activation": "sigmoid",
                                    "weight_init": "xavier"},
                                   {"optimizer": "adagrad", "learning_rate": 0.05, "hidden_size": 20}])
def test_other_settings_learn(extra: dict) -> None:
    result = train({"train_limit": 5000, "test_limit": 1000, "iterations": 200, "eval_every": 100, "seed": 3, **extra})
    assert result.final_test_acc > 0.75, (extra, result.final_test_acc)
    assert result.net.config["hidden_size"] == extra.get("hidden_size", 50)


def test_bad_config_fails_before_any_work() -> None:
    with pytest.raises(ValidationError, match="learning_rate"):
        train({"learning_rate": 0})
    with pytest.raises(ValidationError, match="unknown dataset 'nope'"):
        train({"dataset": "nope"})


def tiny_dataset(n_train: int, n_test: int) -> Dataset:
    rng = np.random.default_rng(0)
    return Dataset("tiny", Path("."), ("0", "1"), (2, 2), rng.random((n_train, 4), dtype=np.float32),
                   rng.integers(0, 2, n_train).astype(np.uint8), rng.random((n_test, 4), dtype=np.float32),
                   rng.integers(0, 2, n_test).astype(np.uint8))


def test_batch_larger_than_the_set_names_the_field() -> None:
    with pytest.raises(ConfigError) as e:
        train({"batch_size": 64}, data=tiny_dataset(50, 10))
    assert e.value.field == "batch_size" and "at most the 50 training images" in str(e.value)
    result = train({"batch_size": 10, "iterations": 12, "eval_every": 5, "seed": 0}, data=tiny_dataset(50, 10))
    assert [e.iteration for e in result.evals] == [5, 10, 12] and result.net.config["output_size"] == 2


def test_missing_dataset_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.data import DatasetError

    def missing(name: str) -> Dataset:
        raise DatasetError(f"dataset {name!r} is not installed: apt-get install dataset-fashion-mnist")

    monkeypatch.setattr("app.training.loop.load_dataset", missing)
    with pytest.raises(ConfigError) as e:
        prepare({"dataset": "fashion-mnist"})
    assert e.value.field == "dataset" and "apt-get" in str(e.value)


def test_blas_gets_one_thread_while_training() -> None:
    def blas_threads() -> set[int]:
        return {i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"}

    before = blas_threads()
    seen: list[set[int]] = []
    train({**SMALL, "iterations": 2}, on_progress=lambda p: seen.append(blas_threads()))
    assert seen and all(s == {1} for s in seen)
    assert blas_threads() == before, "restored afterwards"
    seen.clear()
    train({**SMALL, "iterations": 1}, on_progress=lambda p: seen.append(blas_threads()), blas_threads=None)
    assert seen[0] == before
