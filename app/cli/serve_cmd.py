"""backprop-lab serve: start the web app with uvicorn."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="start the web app (default http://127.0.0.1:8000)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--reload", action="store_true", help="restart on code changes (development)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from app.main import create_app
    from app.store import StoreError

    try:
        if args.reload:
            uvicorn.run("app.main:app", host=args.host, port=args.port, reload=True)
            return 0
        app = create_app()
        from app.store import Store

        Store(app.state.settings.data_dir)  # fail here, with a clear message, not in a traceback
    except StoreError as e:
        print(f"backprop-lab: {e}", file=sys.stderr)
        return 1
    uvicorn.run(app, host=args.host, port=args.port)
    return 0
