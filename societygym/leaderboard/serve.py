"""Serving the built site on localhost with the standard library's HTTP server."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def make_server(folder: Path, host: str = "127.0.0.1", port: int = 0) -> http.server.HTTPServer:
    """A threaded server for ``folder``; ``port=0`` picks a free port (``server_address``)."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    return http.server.ThreadingHTTPServer((host, port), handler)


def serve(folder: Path, host: str = "127.0.0.1", port: int = 8000) -> None:
    server = make_server(folder, host, port)
    print(
        f"serving {folder} on http://{host}:{server.server_address[1]}/ (Ctrl-C stops)", flush=True
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def serve_in_thread(folder: Path, host: str = "127.0.0.1") -> tuple[http.server.HTTPServer, str]:
    """Start a server in a daemon thread; ``(server, base URL)`` (for tests and scripts)."""
    server = make_server(folder, host, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}/"
