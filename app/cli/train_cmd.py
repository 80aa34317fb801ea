"""backprop-lab train [--iterations N --batch-size N ...]: the book's experiment, with a live progress bar.

The flags are written from TrainConfig, the same schema the API's JSON uses.
Ctrl-C stops the loop between iterations and still prints the figures reached.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from app.training.config import add_arguments


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the two-layer net on MNIST (default: the book's experiment)",
                       description="Train the book's two-layer net. Defaults: 784-50-10, SGD lr 0.1, batch 100, "
                                   "10,000 iterations, accuracy over the full sets every 600.")
    add_arguments(p)
    p.add_argument("--json", action="store_true",
                   help="print one JSON object (final_train_acc, final_test_acc, iterations, seconds, ...) and no bar")
    p.add_argument("--save", metavar="FILE.npz", help="save the trained weights and config to FILE.npz")
    p.set_defaults(run=run, parser=p)


class Bar:
    """One redrawn line on a terminal (at most 10 times a second); one line per evaluation everywhere."""

    def __init__(self, out: TextIO, width: int = 28) -> None:
        self.out, self.width, self.tty = out, width, out.isatty()
        self.drawn_at = 0.0
        self.test_acc: float | None = None
        self.loss: float | None = None

    def __call__(self, p: Any) -> None:
        if p.loss is not None:
            self.loss = p.loss
        if p.kind == "eval":
            self.test_acc = p.test_acc
            self.clear()
            print(f"epoch {p.epoch:6.2f}  iteration {p.iteration:>7}  train acc {p.train_acc:.4f}  "
                  f"test acc {p.test_acc:.4f}  {p.elapsed:7.2f} s", file=self.out, flush=True)
            self.draw(p, force=True)
        else:
            self.draw(p)

    def draw(self, p: Any, force: bool = False) -> None:
        now = time.monotonic()
        if not self.tty or (not force and now - self.drawn_at < 0.1 and p.iteration < p.iterations):
            return
        self.drawn_at = now
        filled = int(self.width * p.iteration / p.iterations)
        loss = f"  loss {self.loss:.4f}" if self.loss is not None else ""
        test = f"  test acc {self.test_acc:.4f}" if self.test_acc is not None else ""
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {p.iteration}/{p.iterations}{loss}{test}  {p.elapsed:.1f} s"
        self.out.write("\r" + line + "\x1b[K")
        self.out.flush()

    def clear(self) -> None:
        if self.tty:
            self.out.write("\r\x1b[K")


def save_path(parser: argparse.ArgumentParser, text: str) -> str:
    """The file --save will write: .npz appended as numpy would; its directory must exist and be writable."""
    path = Path(text).expanduser()
    if path.is_dir():
        parser.error(f"argument --save: {path} is a directory; give a file name such as {path / 'net.npz'}")
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")  # numpy's savez appends it anyway; say which file it is
    if not path.parent.is_dir():
        parser.error(f"argument --save: the directory {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        parser.error(f"argument --save: cannot write {path} (permission denied)")
    return str(path)


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from app.training.config import ConfigError, cli_message, config_from_args, parse_config
    from app.training.loop import prepare, train

    if args.save:
        args.save = save_path(args.parser, args.save)  # before training: minutes of work must not end in a traceback
    try:
        config, data = prepare(parse_config(config_from_args(args), allow_paths=True))
    except (ValidationError, ConfigError) as e:
        args.parser.error(cli_message(e))  # usage + message, exit status 2

    stop = threading.Event()
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    bar = None if args.json else Bar(sys.stderr)
    if bar is not None:
        print(f"training {config.hidden_size} hidden units on {data.name} ({len(data.x_train)} training images), "
              f"seed {config.seed}", file=sys.stderr)
    try:
        result = train(config, on_progress=bar, should_stop=stop.is_set, data=data, report_every=10)
    finally:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, previous)
    if args.save:
        try:
            result.net.save(args.save)
        except OSError as e:  # the disk filled up or the directory went away meanwhile
            print(f"backprop-lab train: cannot save the weights to {args.save}: {e.strerror or e}", file=sys.stderr)
            return 1
    summary = result.summary()
    if args.json:
        summary["evaluations"] = [{"iteration": e.iteration, "epoch": e.epoch, "train_acc": e.train_acc,
                                   "test_acc": e.test_acc} for e in result.evals]
        print(json.dumps(summary))
    else:
        if bar is not None:
            bar.clear()
        state = "stopped" if result.stopped else "done"
        if result.iterations:
            print(f"{state}: train acc {result.final_train_acc:.4f}, test acc {result.final_test_acc:.4f}, "
                  f"final loss {summary['final_loss']:.4f} after {result.iterations} iterations in "
                  f"{result.seconds:.2f} s (seed {config.seed})", file=sys.stderr)
        else:
            print(f"{state} before the first iteration", file=sys.stderr)
        if args.save:
            print(f"weights saved to {args.save}", file=sys.stderr)
    return 130 if result.stopped else 0
