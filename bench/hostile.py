"""The hostile figures in docs/security.md, measured against a live `countersign serve` on loopback:

1. agent A floods invalid 1,000-event usage batches (20 threads); agent B's read latency meanwhile;
2. unauthenticated floods from one address (40 threads of failed sign-ins, then of made-up keys): what is
   admitted, how many audit rows are written, B's latency meanwhile;
3. 1,000 slow connections sending a header line every 0.5 s: how many are still open after the header deadline.

B's latency is its median and p95 over sequential GET /v1/agents/me, idle first, then under each attack.
Run: python -m bench.hostile  (about a minute; SQLite; prints one block of figures)
"""

from __future__ import annotations

import multiprocessing
import secrets
import socket
import statistics
import threading
import time
from collections import Counter
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from testkit.live import countersign_server, register_agent, sqlite_database

BAD_BATCH = {"events": [{"model": "", "input_tokens": -1, "output_tokens": "many"}] * 1000}


def latency(base_url: str, key: str, n: int = 200) -> tuple[float, float]:
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        client.get("/v1/agents/me")
        times = []
        for _ in range(n):
            started = time.perf_counter()
            client.get("/v1/agents/me")
            times.append(time.perf_counter() - started)
    times.sort()
    return statistics.median(times) * 1000, times[int(len(times) * 0.95)] * 1000


def one_request(kind: str, client: httpx.Client, url: str, key: str) -> int:
    if kind == "batches":
        return client.post(f"{url}/v1/usage/batch", json=BAD_BATCH, headers={"Authorization": f"Bearer {key}"}
                           ).status_code
    if kind == "sign-ins":
        return client.post(f"{url}/app/login", data={"token": secrets.token_hex(8)}).status_code
    return client.get(f"{url}/v1/agents/me", headers={"Authorization": f"Bearer cs_agent_{secrets.token_hex(16)}"}
                      ).status_code


def flood(kind: str, url: str, key: str, threads: int, seconds: float, report: Any) -> None:
    """In a process of its own, so the attacker never shares a GIL with the client measuring B."""
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < deadline:
                try:
                    status = one_request(kind, client, url, key)
                except httpx.HTTPError:
                    status = 0
                with lock:
                    statuses[status] += 1

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    report.put(dict(statuses))


def under(kind: str, url: str, key: str, threads: int, b: str, seconds: float = 10.0
          ) -> tuple[tuple[float, float], dict[int, int]]:
    """B's latency in the attack's steady state (after its first 2 s: the burst spent), and the attack's answers."""
    report: Any = multiprocessing.Queue()
    attacker = multiprocessing.Process(target=flood, args=(kind, url, key, threads, seconds, report))
    attacker.start()
    time.sleep(2.0)
    figures = latency(url, b)
    answers = report.get(timeout=seconds + 60)
    attacker.join(30)
    return figures, answers


def audit_rows(db_url: str) -> int:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        count = int(conn.execute(text("SELECT count(*) FROM audit_log")).scalar() or 0)
    engine.dispose()
    return count


def slow_sockets(port: int, count: int, seconds: float, report: Any) -> None:
    """In a process of its own (its sends must not share the measuring process's GIL): `count` connections that
    each send a header line every 0.5 s for `seconds`; then how many the server still holds open."""
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        socks.append(sock)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.5)
        for sock in socks:
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except OSError:
                pass
    report.put(still_open(socks))
    for sock in socks:
        sock.close()


def still_open(socks: list[socket.socket]) -> int:
    open_ = 0
    for sock in socks:
        sock.setblocking(False)
        try:
            open_ += sock.recv(1) != b""
        except BlockingIOError:
            open_ += 1
        except OSError:
            pass
    return open_


def ratio(loaded: tuple[float, float], idle: tuple[float, float]) -> str:
    return (f"B median {loaded[0]:.1f} ms (idle just before {idle[0]:.1f}, {loaded[0] / idle[0]:.2f}x), "
            f"p95 {loaded[1]:.1f} ms (idle {idle[1]:.1f})")


def main() -> None:
    with TemporaryDirectory() as tmp, sqlite_database(Path(tmp)) as db, \
            countersign_server(db, COUNTERSIGN_RATE_LIMIT_PER_S=50) as server:
        url = server.base_url
        a = register_agent(url, "flooder")["api_key"]
        b = register_agent(url, "reader", rate_limit_per_s=100_000)["api_key"]
        for kind, threads in [("batches", 20), ("sign-ins", 40), ("made-up keys", 40)]:
            idle = latency(url, b)
            before = audit_rows(db)
            figures, answers = under(kind, url, a, threads, b)
            print(f"{kind}, {threads} threads, 10 s: {ratio(figures, idle)}; answers {answers}; "
                  f"audit rows written {audit_rows(db) - before}")

        idle = latency(url, b)
        report: Any = multiprocessing.Queue()
        trickler = multiprocessing.Process(target=slow_sockets, args=(server.port, 1000, 11.0, report))
        trickler.start()
        time.sleep(2.0)  # all connected and trickling
        figures = latency(url, b)
        trickler.join(60)
        print(f"1,000 slow connections (a header line every 0.5 s): {ratio(figures, idle)}; "
              f"still open after 11 s: {report.get(timeout=10)}")


if __name__ == "__main__":
    main()
