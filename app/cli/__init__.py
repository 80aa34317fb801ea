"""`backprop-lab` command line: each subcommand lives in its own module with add_parser() and run()."""

from __future__ import annotations

import argparse
import importlib
import sys

# module name -> subcommand; each module defines add_parser(subparsers) and run(args) -> int
COMMANDS = ["serve", "eval", "train", "gradcheck", "runs"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="backprop-lab", description="See backpropagation happen.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"app.cli.{name}_cmd")
        except ModuleNotFoundError as e:
            if e.name == f"app.cli.{name}_cmd":
                continue
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
