from app.cli import main

if __name__ == "__main__":  # spawned training workers import this module too; they must not rerun the CLI
    raise SystemExit(main())
