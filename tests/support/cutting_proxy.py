"""A TCP proxy on loopback that cuts connections mid-upload, for testing resumable pushes.

    with CuttingProxy(("127.0.0.1", server_port), cut_after=[300_000, 700_000]) as proxy:
        push_bundle(field, bundle, proxy.url, token)
    assert proxy.cuts == 2

Bytes going from the client to the server are counted over all connections; each time the
count passes the next number in `cut_after`, both sides of the connection carrying them are
closed at once (a reset, as when a phone's link drops), whatever request is under way. Each
number cuts once. Threads, one pair per connection; stopped with the block.
"""

from __future__ import annotations

import socket
import struct
import threading


class CuttingProxy:
    def __init__(self, target: tuple[str, int], cut_after: list[int]):
        self.target = target
        self.pending = sorted(cut_after)
        self.cuts = 0
        self.upstream_bytes = 0
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stopped = threading.Event()
        self._sockets: list[socket.socket] = []

    def __enter__(self) -> "CuttingProxy":
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stopped.set()
        self._listener.close()
        for sock in list(self._sockets):
            _close(sock)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=30)
            except OSError:
                _close(client)
                continue
            self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, upstream: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if upstream:
                    with self._lock:
                        self.upstream_bytes += len(data)
                        cut = bool(self.pending) and self.upstream_bytes >= self.pending[0]
                        if cut:
                            self.pending.pop(0)
                            self.cuts += 1
                    if cut:  # part of this piece goes through, then the line drops
                        sink.sendall(data[: len(data) // 2])
                        _reset(source)
                        _reset(sink)
                        return
                sink.sendall(data)
        except OSError:
            pass
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset (SO_LINGER 0), not a polite FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    _close(sock)


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass
