"""Binding the port before anything says "listening", and stopping cleanly on SIGTERM as on Ctrl-C.

`serve` and `demo` bind their socket here, then hand it to uvicorn: a busy port is one clear line and a non-zero
exit before any summary, and the address printed is the one bound.
"""

from __future__ import annotations

import errno
import signal
import socket
import sys
from typing import Any

import click

PORT_IN_USE = 1


def try_bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; OSError if it cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no conflict
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def bind_or_exit(host: str, port: int) -> socket.socket:
    """The socket, or one line naming the port and what to do, and exit status 1."""
    try:
        return try_bind(host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            why = f"port {port} on {host} is already in use; stop what uses it or choose another with --port"
        elif exc.errno == errno.EACCES:
            why = f"port {port} on {host} needs privileges this user lacks; choose one above 1023 with --port"
        else:
            why = f"cannot listen on {host}:{port} ({exc.strerror}); check --host/COUNTERSIGN_HOST and --port"
        click.echo(f"countersign: {why}.", err=True)
        sys.exit(PORT_IN_USE)


def run_on(app: Any, sock: socket.socket, *, log_level: str) -> None:
    """Serve until Ctrl-C or SIGTERM. uvicorn re-raises the signal it stopped for once it has shut down; with
    SIGTERM's default action that would end the process before the caller's `finally` cleans up, so SIGTERM
    raises SystemExit here instead."""
    import uvicorn

    def stop(signum: int, frame: object) -> None:
        sys.exit(0)  # a stop asked for, after a graceful shutdown

    signal.signal(signal.SIGTERM, stop)
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, access_log=False))
    server.run(sockets=[sock])
