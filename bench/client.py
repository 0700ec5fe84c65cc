"""A lean keep-alive HTTP client for timing servers on the loopback interface.

The benchmarks time the server, so the client should cost as little as it
can. On the 2-CPU development machine, ``requests.Session`` spent about
1.9 ms of Python on each request: a trivial endpoint took 3.3 ms with
it and in 1.5 ms with ``http.client``, server and connection unchanged.
That difference lands on the same 2 CPUs as the server and would count as
HTTP cost. ``Client`` keeps the call shape of a ``requests.Session``
(``get``, ``post``, ``status_code``, ``json()``) on top of
``http.client.HTTPConnection``, one connection per host and port.

One ``Client`` belongs to one thread, like one connection.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

# Errors that mean the server closed a kept-alive connection before this request.
STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


@dataclass
class Reply:
    """One response, read whole."""

    status_code: int
    headers: http.client.HTTPMessage
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


class Client:
    """HTTP/1.1 requests over kept-alive connections, one per host and port."""

    def __init__(self) -> None:
        self._connections: dict[tuple[str, int], http.client.HTTPConnection] = {}

    def get(self, url: str, params: dict[str, str] | None = None, **options: Any) -> Reply:
        return self.request("GET", url, params=params, **options)

    def post(
        self,
        url: str,
        data: bytes | str | dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        **options: Any,
    ) -> Reply:
        return self.request("POST", url, data=data, params=params, **options)

    def request(
        self,
        method: str,
        url: str,
        data: bytes | str | dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 300,
    ) -> Reply:
        """Send one request and read the whole response.

        A dict ``data`` is sent as a form, like ``requests`` does. A connection
        the server closed while idle is opened again once; any other error
        is raised.
        """
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if params:
            target += ("&" if parts.query else "?") + urlencode(params)
        headers = dict(headers or {})
        body = _encode_body(data, headers)
        address = (parts.hostname or "127.0.0.1", parts.port or 80)
        for attempt in (1, 2):
            connection = self._connection(address, timeout)
            try:
                connection.request(method, target, body=body, headers=headers)
                response = connection.getresponse()
                content = response.read()
            except STALE_CONNECTION:
                self._drop(address)
                if attempt == 2:
                    raise
                continue
            except BaseException:
                self._drop(address)
                raise
            if response.will_close:
                self._drop(address)
            return Reply(response.status, response.headers, content)
        raise AssertionError("unreachable")

    def close(self) -> None:
        for address in list(self._connections):
            self._drop(address)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connection(self, address: tuple[str, int], timeout: float) -> http.client.HTTPConnection:
        connection = self._connections.get(address)
        if connection is None:
            connection = http.client.HTTPConnection(*address, timeout=timeout)
            self._connections[address] = connection
        connection.timeout = timeout
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        return connection

    def _drop(self, address: tuple[str, int]) -> None:
        connection = self._connections.pop(address, None)
        if connection is not None:
            connection.close()


def _encode_body(
    data: bytes | str | dict[str, str] | None, headers: dict[str, str]
) -> bytes | None:
    if data is None:
        return None
    if isinstance(data, dict):
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return urlencode(data).encode("utf-8")
    if isinstance(data, str):
        return data.encode("utf-8")
    return data
