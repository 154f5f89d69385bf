"""A local OpenAI-compatible server for tests: replies from a script of (status, text) steps."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextmanager
def fake_endpoint(script: list[tuple[int, str]] | None = None, default: tuple[int, str] = (200, "A plain answer.")
                  ) -> Iterator[dict[str, Any]]:
    """Yields {"url": ..., "requests": [...]}; each request takes the next scripted step, then ``default``."""
    state: dict[str, Any] = {"requests": [], "script": list(script or [])}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state["requests"].append({"path": self.path, "body": body,
                                      "auth": self.headers.get("Authorization")})
            status, text = state["script"].pop(0) if state["script"] else default
            payload = (json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]})
                       if status == 200 else json.dumps({"error": text}))
            data = payload.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{server.server_address[1]}/v1", **state,
               "requests": state["requests"]}
    finally:
        server.shutdown()
        server.server_close()
