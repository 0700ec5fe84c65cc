"""The Flask application factory."""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, g, request

from registry.config import Settings
from registry.http.employer import employer
from registry.http.openapi import openapi
from registry.http.problems import register_error_handlers
from registry.http.publishing import publishing
from registry.http.resources import resources
from registry.http.sparql import sparql
from registry.service import Registry

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, registry: Registry | None = None) -> Flask:
    """Build the app: settings, registry (store and vocabulary), blueprints, error handlers.

    ``settings`` defaults to ``Settings.from_env()``; tests pass their own,
    or a ready ``registry``.
    """
    settings = settings or (registry.settings if registry else Settings.from_env())
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["JSON_SORT_KEYS"] = False
    app.extensions["registry"] = registry or Registry(settings)

    register_error_handlers(app)
    app.register_blueprint(resources)
    app.register_blueprint(sparql)
    app.register_blueprint(publishing)
    app.register_blueprint(employer)
    app.register_blueprint(openapi)
    app.before_request(_start_timer)
    app.after_request(_log_request)
    return app


def _start_timer() -> None:
    g.started = time.perf_counter()


def _log_request(response: Any) -> Any:
    elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    log.info("%s %s -> %d in %.1f ms", request.method, request.path, response.status_code, elapsed)
    return response
