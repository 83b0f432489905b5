"""Counts a client's round trips to PostgreSQL: a relay on 127.0.0.1 between the client and the
server that reads the frontend messages going by (protocol 3.0) and counts them by type.

Each simple Query ('Q') and each Sync ('S') of the extended protocol makes the client wait for the
server's ReadyForQuery: their sum is the number of round trips. Connections are counted from the
startup messages. Used outside every timed step: the relay adds latency.
"""

from __future__ import annotations

import collections
import socket
import struct
import threading

# Requests sent before the startup message, which has no type byte either.
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102


class RoundTripCounter:
    """Listens on a free port of 127.0.0.1 and relays every connection to `upstream_port`."""

    def __init__(self, upstream_port: int):
        self._upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self) -> "RoundTripCounter":
        return self

    def __exit__(self, *_exc) -> None:
        self._listener.close()

    def take(self) -> dict[str, int]:
        """The counts since the last call: connections, round_trips, and messages by type."""
        with self._lock:
            counts, self._counts = self._counts, collections.Counter()
        return {
            "connections": counts["startup"],
            "round_trips": counts["Q"] + counts["S"],
            "messages": {k: v for k, v in sorted(counts.items()) if k != "startup"},
        }

    def _count(self, kind: str) -> None:
        with self._lock:
            self._counts[kind] += 1

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self._upstream_port))
            threading.Thread(target=self._from_client, args=(client, server), daemon=True).start()
            threading.Thread(target=_copy, args=(server, client), daemon=True).start()

    def _from_client(self, client: socket.socket, server: socket.socket) -> None:
        buffer = bytearray()
        startup = True
        try:
            while data := client.recv(65536):
                buffer += data
                # Counted before forwarding: once the client has its answer, its messages are counted.
                startup = self._parse(buffer, startup)
                server.sendall(data)
        except OSError:
            pass
        finally:
            _close(server)

    def _parse(self, buffer: bytearray, startup: bool) -> bool:
        """Counts the complete messages at the head of `buffer` and removes them; returns whether
        the connection is still before its startup message."""
        while True:
            if startup:
                if len(buffer) < 8:
                    return startup
                length, code = struct.unpack("!ii", buffer[:8])
                if len(buffer) < length:
                    return startup
                del buffer[:length]
                if code not in (SSL_REQUEST, GSSENC_REQUEST, CANCEL_REQUEST):
                    self._count("startup")
                    startup = False
            else:
                if len(buffer) < 5:
                    return startup
                (length,) = struct.unpack("!i", buffer[1:5])
                if len(buffer) < 1 + length:
                    return startup
                self._count(chr(buffer[0]))
                del buffer[: 1 + length]


def _copy(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        _close(target)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
