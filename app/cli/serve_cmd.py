"""backprop-lab serve: start the web app with uvicorn."""

from __future__ import annotations

import argparse


def port(text: str) -> int:
    """A TCP port, 0 to 65535 (uvicorn would end in an OverflowError traceback from bind() otherwise)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to 65535, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to 65535, got {value}")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="start the web app (default http://127.0.0.1:8000)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=port, default=8000, help="0 to 65535 (default 8000)")
    p.add_argument("--reload", action="store_true", help="restart on code changes (development)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from app.config import Settings
    from app.main import create_app

    # A bad variable or an unusable data directory (read-only, full, a file) ends here with one line
    # on stderr and exit status 1, before uvicorn starts: no traceback.
    settings = Settings.from_env()
    if args.reload:
        uvicorn.run("app.main:app", host=args.host, port=args.port, reload=True)
        return 0
    uvicorn.run(create_app(settings), host=args.host, port=args.port)
    return 0
