"""The Flask HTTP layer: ``create_app`` builds the app; views only adapt requests."""

from registry.http.app import create_app

__all__ = ["create_app"]
