"""Entry point: build the app from ``REGISTRY_*`` settings and run it.

For production, point a WSGI server at ``server:create_app()``; for a quick
start, ``python server.py`` (or ``registry serve``) runs Flask's threaded server.
"""

from registry.http import create_app


def main() -> None:
    from registry.cli import main as cli_main

    raise SystemExit(cli_main(["serve"]))


if __name__ == "__main__":
    main()

__all__ = ["create_app"]
