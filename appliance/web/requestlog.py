"""One log line per request, for the appliance and the hub alike: the route's pattern,
never the path, the query string or the client's address (they can carry codes or ids)."""

from __future__ import annotations

import logging
import time

from flask import Flask, g, request


def route_pattern() -> str:
    return request.url_rule.rule if request.url_rule else "(no route)"


def init_request_log(app: Flask, logger_name: str) -> None:
    log = logging.getLogger(logger_name)

    @app.before_request
    def start_clock() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response):  # type: ignore[no-untyped-def]
        started = g.get("request_started")
        elapsed = (time.perf_counter() - started) * 1000 if started else 0.0
        log.info("%s %s %s %.1fms", request.method, route_pattern(), response.status_code, elapsed)
        return response
