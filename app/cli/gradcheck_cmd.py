"""backprop-lab gradcheck [--seed N]: the book's gradient check, with the reasons for its figures."""

from __future__ import annotations

import argparse
import json


def _int_in(low: int, high: int) -> object:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer from {low} to {high}, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be an integer from {low} to {high}, got {value}")
        return value

    return parse


def add_parser(sub: argparse._SubParsersAction) -> None:
    from app.nn.gradcheck import DEFAULT_SEED, KINK_SEED

    p = sub.add_parser("gradcheck", help="compare backprop with numerical gradients, as the book's section 5.7.3",
                       description=f"Backprop vs central differences (h = 1e-4) on 3 MNIST training images. "
                                   f"Seed {DEFAULT_SEED} (the default) passes cleanly; seed {KINK_SEED} puts two "
                                   "hidden units near their ReLU kink.")
    p.add_argument("--seed", type=_int_in(0, 2**32 - 1), default=DEFAULT_SEED,
                   help=f"the weight initialisation's seed (default {DEFAULT_SEED})")
    p.add_argument("--hidden-size", type=_int_in(1, 200), default=50, help="hidden units, 1 to 200 (default 50)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from app.nn.gradcheck import gradient_check
    from app.nn.two_layer_net import PARAM_KEYS

    result = gradient_check(seed=args.seed, hidden_size=args.hidden_size)
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0 if result.passed else 1
    print(f"gradient check on {result.images} training images, hidden size {result.hidden_size}, seed {result.seed} "
          f"(h = {result.kink.h:g})")
    print(f"{'':4}{'backprop - numerical':>22}{'without kink units':>20}{'vs exact gradient':>19}")
    for k in PARAM_KEYS:
        print(f"{k + ':':4}{result.diffs[k]:>22.2e}{result.diffs_without_kinks[k]:>20.2e}{result.diffs_exact[k]:>19.2e}")
    print(f"kink: {len(result.kink.units)} hidden unit(s) within h of the ReLU kink {result.kink.units}, "
          f"{result.kink.entries['W1']} W1 and {result.kink.entries['b1']} b1 entries affected")
    print(f"time: backprop {result.backprop_seconds * 1e3:.3f} ms, numerical {result.numerical_seconds:.2f} s "
          f"({result.speedup:,.0f}x)")
    print()
    print(result.explain())
    return 0 if result.passed else 1
