"""Entry point: build the app from ``REGISTRY_*`` settings and run it.

``python server.py`` (or ``registry serve``) runs the app under waitress in
one process. Another WSGI server can run ``server:create_app()`` with threads
in a single process, because only one process can open an on-disk store.
"""

from registry.http import create_app


def main() -> None:
    from registry.cli import main as cli_main

    raise SystemExit(cli_main(["serve"]))


if __name__ == "__main__":
    main()

__all__ = ["create_app"]
