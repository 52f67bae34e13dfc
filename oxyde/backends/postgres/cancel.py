"""Cancel requests that never hold the GIL while they wait on the network.

Before libpq 17 a cancel request (``PQcancel``) opens a new connection to the server and
blocks until the server answers. psycopg's compiled implementation makes that call
without releasing the GIL, so while the server cannot be reached (a network partition)
every thread of the process stops with it, the event loop included. The same libpq call
made through ctypes releases the GIL. It is used only when that is provably the libpq
psycopg runs on: exactly one libpq mapped into the process, of psycopg's version. Otherwise
(and with libpq 17, whose cancel is non-blocking) psycopg's own ``cancel_safe`` runs.

A cancel request that has not gone through within ``REQUEST_WAIT`` means the server cannot
be reached (or cannot fork a process for the request): the connection's socket is then
shut down, so whatever waits on it fails at once as a lost connection and the pool
replaces it. Ending the session also ends its transaction; a statement the server is
still running stops when the server next writes to the closed connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import psycopg
from psycopg import pq

__all__ = ["available", "cancel", "sever"]

#: libpq 17 has a non-blocking cancel of its own (psycopg's ``cancel_safe`` uses it)
NONBLOCKING_LIBPQ: Final = 170000
#: seconds a cancel request may take before the connection is cut instead
REQUEST_WAIT: Final = 0.5

# Requests wait here, not in the loop's default executor: one blocked until a partition
# heals must not hold up name lookups or other to_thread work.
_senders = ThreadPoolExecutor(max_workers=4, thread_name_prefix="oxyde-pg-cancel")


@functools.cache
def _libpq() -> Any:
    """The process's libpq through ctypes, or None when it cannot be told apart."""
    if pq.__impl__ == "python" or pq.version() >= NONBLOCKING_LIBPQ:
        return None  # ctypes already (python), or nothing blocks (17+)
    try:
        with open("/proc/self/maps") as maps:
            paths = {
                line.split()[-1]
                for line in maps
                if "/libpq" in line and ".so" in line.rsplit("/", 1)[-1]
            }
    except OSError:
        return None
    if len(paths) != 1:
        return None
    try:
        lib = ctypes.CDLL(paths.pop())
    except OSError:
        return None
    lib.PQlibVersion.restype = ctypes.c_int
    lib.PQgetCancel.argtypes = [ctypes.c_void_p]
    lib.PQgetCancel.restype = ctypes.c_void_p
    lib.PQcancel.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    lib.PQcancel.restype = ctypes.c_int
    lib.PQfreeCancel.argtypes = [ctypes.c_void_p]
    lib.PQfreeCancel.restype = None
    if lib.PQlibVersion() != pq.version():
        return None
    return lib


def available() -> bool:
    """Whether ``cancel`` takes the GIL-free path here."""
    return _libpq() is not None


def _send(lib: Any, handle: int) -> None:
    """In a sender thread: send the request (GIL released by ctypes), free the handle."""
    try:
        buf = ctypes.create_string_buffer(256)
        if not lib.PQcancel(handle, buf, len(buf)):
            message = buf.value.decode(errors="replace").strip()
            raise psycopg.OperationalError(f"the cancel request failed: {message}")
    finally:
        lib.PQfreeCancel(handle)


async def cancel(conn: psycopg.AsyncConnection[Any], super_cancel: Any, within: float) -> None:
    """Ask the server to stop ``conn``'s running statement; cut the connection when the
    request does not go through in ``min(within, REQUEST_WAIT)`` seconds.

    ``super_cancel`` is psycopg's ``cancel_safe``, used where the GIL-free path is not.
    """
    lib = _libpq()
    if lib is None:
        await super_cancel(timeout=within)
        return
    # The compiled PGconn's address, which psycopg's typed interface does not declare.
    address = getattr(conn.pgconn, "pgconn_ptr", None)
    if conn.closed or address is None:
        return
    # Taken on the loop: it copies what the request needs, so the connection may be
    # closed while the request is on its way.
    handle = lib.PQgetCancel(address)
    if not handle:
        raise psycopg.OperationalError("could not make a cancel request for the connection")
    loop = asyncio.get_running_loop()
    sending = loop.run_in_executor(_senders, _send, lib, handle)
    try:
        # The thread may stay blocked past the wait (the server unreachable); the loop
        # does not wait for it.
        await asyncio.wait_for(asyncio.shield(sending), min(within or REQUEST_WAIT, REQUEST_WAIT))
    except TimeoutError:
        sending.add_done_callback(_ignore)
        sever(conn)
    except asyncio.CancelledError:
        sending.add_done_callback(_ignore)
        raise


def sever(conn: psycopg.AsyncConnection[Any]) -> None:
    """Shut the connection's socket down (both ways) under libpq: every wait on it ends
    with a lost connection, and libpq still closes its descriptor itself."""
    try:
        fd = conn.pgconn.socket
    except psycopg.Error:
        return  # already closed
    # OSError: the peer shut it down already
    with socket.socket(fileno=os.dup(fd)) as sock, contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _ignore(task: asyncio.Future[None]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: a late failure of an abandoned request is expected
