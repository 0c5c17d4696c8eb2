"""A real HTTP server on 127.0.0.1 for feed tests, serving tests/data/feeds/.

Each path answers with a file, or with a route: a function of the request that gives
(status, headers, body). Every request is recorded (path and headers) so tests assert
what the client sent: conditional GETs, the User-Agent; a test waits for a request with
:meth:`FeedServer.wait_hits`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DATA = Path(__file__).parent / "data" / "feeds"
TYPES = {".xml": "application/xml", ".json": "application/feed+json", ".html": "text/html"}


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Iterator[bytes] = b""


Route = Callable[["Request"], Answer]


@dataclass
class Request:
    path: str
    headers: Message


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self._asked = threading.Condition()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                request = Request(self.path, self.headers)
                with server._asked:
                    server.requests.append(request)
                    server._asked.notify_all()
                route = server.routes.get(self.path)
                answer = route(request) if route else server.file(self.path)
                self.send_response(answer.status)
                body = answer.body
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if isinstance(body, bytes):
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    for chunk in body:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def file(self, path: str) -> Answer:
        name = path.lstrip("/").split("?")[0]
        target = DATA / name
        if "/" in name or not target.is_file():
            return Answer(404, {"Content-Type": "text/plain"}, b"not found")
        return Answer(
            200, {"Content-Type": TYPES.get(target.suffix, "text/plain")}, target.read_bytes()
        )

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def wait_hits(self, path: str, count: int, timeout: float) -> bool:
        """Block until ``path`` has been asked for ``count`` times (True) or ``timeout``
        seconds have passed (False). Called from trio with ``trio.to_thread.run_sync``."""
        with self._asked:
            return self._asked.wait_for(lambda: len(self.hits(path)) >= count, timeout)

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
