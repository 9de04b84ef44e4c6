"""Serving the web app with gunicorn: few sync workers, the app loaded once before forking."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from appliance.config import Config


M_MMAP_THRESHOLD = -3  # glibc's mallopt() parameter number


class _Gunicorn(BaseApplication):
    def __init__(self, config: Config, options: dict[str, Any],
                 app_factory: Callable[[Config], Any] | None = None) -> None:
        self.epn_config = config
        self.options = options
        self.app_factory = app_factory
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # settings of newer gunicorn releases are optional
                self.cfg.set(key, value)

    def load(self):  # type: ignore[no-untyped-def]
        from appliance.web import create_app

        app = (self.app_factory or create_app)(self.epn_config)
        # Objects made while loading live as long as the workers: keep the garbage collector
        # from touching (and so un-sharing) their memory pages after the fork.
        gc.freeze()
        return app


def server_options(host: str, port: int, workers: int, level: str = "INFO") -> dict[str, Any]:
    """Production settings for a Raspberry Pi (2 sync workers measured best on 2-4 cores)."""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return {
        "bind": [bind],
        "workers": workers,
        "worker_class": "sync",
        # Load the app once in the master: workers share its memory pages.
        "preload_app": True,
        "timeout": 60,
        "graceful_timeout": 10,
        "keepalive": 5,
        # Recycle workers now and then so a slow leak never fills a small Pi's memory.
        "max_requests": 5000,
        "max_requests_jitter": 500,
        # The app logs each request by its route pattern; gunicorn's access log would
        # carry client addresses and query strings.
        "accesslog": None,
        "logconfig_dict": logging_config(level),
        "proc_name": "epn-serve",
        # No runtime control socket in the home directory (gunicorn 24+): systemd manages us.
        "control_socket_disable": True,
        "limit_request_line": 8190,
        "limit_request_fields": 100,
    }


def return_large_blocks_to_the_system() -> None:
    """Serve big allocations (Argon2's 19 MiB at each sign-in) with mmap, so they go back
    to the system when freed instead of staying in every worker's heap (glibc only)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, 128 * 1024)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune


def run_server(config: Config, host: str, port: int, workers: int,
               app_factory: Callable[[Config], Any] | None = None, proc_name: str = "epn-serve") -> None:
    """Serve the appliance's app, or the one `app_factory` builds (the hub's), with gunicorn."""
    return_large_blocks_to_the_system()
    options = server_options(host, port, workers, config.log.level)
    options["proc_name"] = proc_name
    _Gunicorn(config, options, app_factory).run()


def logging_config(level: str) -> dict[str, Any]:
    """Everything (gunicorn's own messages and the app's) to stdout, one format."""
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "plain"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {"stdout": handler},
        "root": {"level": level, "handlers": ["stdout"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
        },
    }
