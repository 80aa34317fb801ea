"""The training loop of the book's section 5.7.4, as a pure function: no asyncio, no HTTP.

``train(config, on_progress, should_stop)`` runs in whatever thread calls it,
reports through the callback and checks the stop flag between iterations, so a
background job can run it, watch it and stop it.

Fast without leaving the book's layers: float32, integer labels (no one-hot
matrix), Affine1 skips its dx, the loss recorded is the one of the forward pass
that made the gradient (no second pass after the update), the optimizer updates
in place through preallocated buffers, and each epoch walks a fresh
permutation of the training set instead of drawing with ``np.random.choice``.

BLAS gets one thread while the loop runs (``blas_threads``). On these 2-core
machines OpenBLAS's second thread buys ~10% on an idle machine, but its
spinning workers make every product 5-20x slower as soon as anything else runs:
a second training run, the web server, a test suite. Measured here: two
3,000-iteration runs side by side took 46 s each with 2 threads, 2 s with 1.
One thread also makes a seed's curves the same on machines with more cores.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from app.data import Dataset, DatasetError, load_dataset
from app.nn.optimizers import make_optimizer
from app.nn.two_layer_net import TwoLayerNet
from app.training.config import ConfigError, TrainConfig, parse_config

from threadpoolctl import threadpool_limits

MAX_PENDING_EVALS = 2  # evaluations scored in the background at once, at most (one running, one waiting)


def blas_limit(threads: int | None) -> AbstractContextManager[Any]:
    """Limit BLAS to ``threads`` threads inside the block (process-wide); None leaves it alone."""
    if threads is None:
        return nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


@dataclass(frozen=True)
class Progress:
    """One report from the loop, handed to ``on_progress`` on the training thread, in iteration order.

    kind "loss": ``losses`` are the batch losses of iterations
    ``iteration - len(losses) + 1 .. iteration`` (1-based): every iteration exactly once.
    They come every ``report_every`` iterations, except that losses past an epoch
    whose accuracies are still being scored wait for its "eval" event, then come together.
    kind "eval": ``train_acc`` / ``test_acc`` over the full (or limited) sets, after
    ``iteration`` updates; ``net`` is then the copy of the weights that was scored.
    Otherwise ``net`` is the live net: read it inside the callback only, or keep
    ``snapshot()``, an independent copy safe to use from any thread.
    """

    kind: Literal["loss", "eval"]
    iteration: int
    iterations: int
    epoch: float
    elapsed: float
    net: TwoLayerNet = field(repr=False)
    losses: tuple[float, ...] = ()
    train_acc: float | None = None
    test_acc: float | None = None

    @property
    def loss(self) -> float | None:
        return self.losses[-1] if self.losses else None

    def snapshot(self) -> TwoLayerNet:
        return self.net.copy()


@dataclass(frozen=True)
class Evaluation:
    iteration: int
    epoch: float
    train_acc: float
    test_acc: float


@dataclass
class TrainResult:
    config: TrainConfig  # with the seed actually used filled in
    net: TwoLayerNet
    losses: np.ndarray  # float32, one per completed iteration
    evals: list[Evaluation]
    iterations: int  # completed (fewer than asked when stopped)
    stopped: bool
    seconds: float  # the loop, evaluations included; data loading excluded

    @property
    def final_train_acc(self) -> float | None:
        return self.evals[-1].train_acc if self.evals else None

    @property
    def final_test_acc(self) -> float | None:
        return self.evals[-1].test_acc if self.evals else None

    def summary(self) -> dict[str, Any]:
        return {"final_train_acc": self.final_train_acc, "final_test_acc": self.final_test_acc,
                "final_loss": float(self.losses[-1]) if len(self.losses) else None,
                "iterations": self.iterations, "stopped": self.stopped, "seconds": round(self.seconds, 3),
                "seed": self.config.seed, "evaluations": len(self.evals), "config": self.config.model_dump()}


def random_seed() -> int:
    return int(np.random.SeedSequence().entropy % 2**32)


def prepare(config: TrainConfig | dict[str, Any], data: Dataset | None = None,
            allow_paths: bool = False) -> tuple[TrainConfig, Dataset]:
    """The config (seed filled in) and its dataset, or ConfigError naming the field that does not fit."""
    if not isinstance(config, TrainConfig):
        config = parse_config(config, allow_paths=allow_paths)
    if data is None:
        try:
            data = load_dataset(config.dataset)
        except DatasetError as e:
            raise ConfigError("dataset", str(e)) from None
    config.check_sizes(len(data.x_train), len(data.x_test))
    if config.epochs is not None:  # a directory's real size may differ from the one assumed when validating
        config = config.model_copy(update={"iterations": config.iterations_for(len(data.x_train))})
    if config.seed is None:
        config = config.model_copy(update={"seed": random_seed()})
    return config, data


def train(config: TrainConfig | dict[str, Any], on_progress: Callable[[Progress], None] | None = None,
          should_stop: Callable[[], bool] | None = None, *, data: Dataset | None = None,
          report_every: int = 1, blas_threads: int | None = 1,
          overlap_eval: bool | Callable[[], bool] = True) -> TrainResult:
    """Train the two-layer net as ``config`` says; same seed, same curves.

    ``on_progress`` gets a "loss" event every ``report_every`` iterations (and at the
    end) and an "eval" event after every ``eval_every`` iterations and at the end;
    ``should_stop`` is called before each iteration and, once it returns True, the
    loop evaluates the weights it has and returns with ``stopped=True``.
    Raises ConfigError (or pydantic's ValidationError for a dict) before any work.
    ``blas_threads``: BLAS threads while training (see the module's docstring); None = BLAS's default.
    ``overlap_eval``: score each epoch's weights in a second thread while training goes on (the
    events still arrive in iteration order; the figures are the same either way). A callable is asked
    at each evaluation (a worker overlaps only while a core is spare).
    """
    config, data = prepare(config, data)
    with blas_limit(blas_threads):
        return _train(config, data, on_progress, should_stop, report_every, overlap_eval)


def _train(config: TrainConfig, data: Dataset, on_progress: Callable[[Progress], None] | None,
           should_stop: Callable[[], bool] | None, report_every: int,
           overlap_eval: bool | Callable[[], bool]) -> TrainResult:
    rng = np.random.default_rng(config.seed)
    n_train = min(len(data.x_train), config.train_limit or len(data.x_train))
    n_test = min(len(data.x_test), config.test_limit or len(data.x_test))
    x_train, x_test = data.x_train[:n_train], data.x_test[:n_test]
    t_train = data.t_train[:n_train].astype(np.intp)  # integer labels: no one-hot matrix
    t_test = data.t_test[:n_test].astype(np.intp)
    net = TwoLayerNet(x_train.shape[1], config.hidden_size, len(data.classes), config.weight_init,
                      activation=config.activation, dtype=np.float32, rng=rng)
    optimizer = make_optimizer(config.optimizer, config.learning_rate)
    params = net.params
    batch, total = config.batch_size, config.iterations
    steps_per_epoch = n_train // batch
    losses = np.empty(total, np.float32)
    evals: list[Evaluation] = []
    reported = 0
    # Scoring 70,000 images takes as long as ~200 iterations: it runs on the spare core, on a
    # copy of the weights, while training goes on; its event is still reported in order. At most
    # MAX_PENDING_EVALS wait: with evaluations more frequent than that (eval_every 100 on the full
    # sets) training waits for the oldest, instead of a backlog that holds back the losses and a stop.
    pool = ThreadPoolExecutor(1, thread_name_prefix="train-eval") if overlap_eval is not False else None
    pending: deque[tuple[int, TwoLayerNet, Future[tuple[float, float]]]] = deque()

    def score(snapshot: TwoLayerNet) -> tuple[float, float]:
        return snapshot.accuracy(x_train, t_train), snapshot.accuracy(x_test, t_test)

    def evaluate(done: int, wait: bool) -> None:
        snapshot = net.copy()
        inline = wait or pool is None or (callable(overlap_eval) and not overlap_eval())
        while pending and (inline or len(pending) >= MAX_PENDING_EVALS):  # events stay in iteration order
            old_done, old_snapshot, future = pending.popleft()
            deliver(old_done, old_snapshot, future.result())
        if inline:
            deliver(done, snapshot, score(snapshot))
        else:
            pending.append((done, snapshot, pool.submit(score, snapshot)))

    def deliver(done: int, snapshot: TwoLayerNet, accs: tuple[float, float]) -> None:
        report_losses(done)
        ev = Evaluation(done, done / steps_per_epoch, *accs)
        evals.append(ev)
        if on_progress is not None:
            on_progress(Progress("eval", done, total, ev.epoch, time.perf_counter() - start, snapshot,
                                 train_acc=ev.train_acc, test_acc=ev.test_acc))

    def collect(block: bool) -> None:
        while pending and (block or pending[0][2].done()):
            done, snapshot, future = pending.popleft()
            deliver(done, snapshot, future.result())

    def report_losses(done: int) -> None:
        nonlocal reported
        if pending:  # nothing past an evaluation that has not been reported yet
            done = min(done, pending[0][0])
        if on_progress is not None and done > reported:
            on_progress(Progress("loss", done, total, done / steps_per_epoch, time.perf_counter() - start, net,
                                 losses=tuple(losses[reported:done].tolist())))
        reported = max(reported, done)

    start = time.perf_counter()
    done, stopped = 0, False
    order = rng.permutation(n_train)
    step = 0
    try:
        while done < total:
            if should_stop is not None and should_stop():
                stopped = True
                break
            if step == steps_per_epoch:  # a new epoch: a fresh order, every image once
                order, step = rng.permutation(n_train), 0
            idx = order[step * batch:(step + 1) * batch]
            step += 1
            loss, grads = net.value_and_gradient(x_train[idx], t_train[idx])
            optimizer.update(params, grads)
            losses[done] = loss
            done += 1
            if pending and pending[0][2].done():
                collect(block=False)
            if on_progress is not None and done - reported >= report_every:
                report_losses(done)
            if done % config.eval_every == 0 and done < total:
                evaluate(done, wait=False)
        if stopped:  # a stop is meant now: scores not begun are dropped (the last one below scores these weights)
            for entry in [e for e in pending if e[2].cancel()]:
                pending.remove(entry)
        collect(block=True)
        report_losses(done)
        if not evals or evals[-1].iteration != done:
            evaluate(done, wait=True)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    seconds = time.perf_counter() - start
    return TrainResult(config, net, losses[:done], evals, done, stopped, seconds)
