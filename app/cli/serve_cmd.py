"""backprop-lab serve: start the web app with uvicorn."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="start the web app (default http://127.0.0.1:8000)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
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
