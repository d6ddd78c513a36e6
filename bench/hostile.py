"""The hostile figures in docs/security.md, measured against a live `countersign serve` on loopback:

1. agent A floods invalid 1,000-event usage batches (20 threads); agent B's read latency meanwhile;
2. unauthenticated floods from one address (40 threads of failed sign-ins, then of made-up keys): what is
   admitted, how many audit rows are written, B's latency meanwhile;
3. 1,000 slow connections sending a header line every 0.5 s: how many are still open after the header deadline.

B's latency is its median over sequential GET /v1/agents/me, idle just before each attack and then under it, each
relative to the same reads in turn on an idle control server (the machine's own noise taken out, as in
tests/hostile/test_fairness.py); "1.2x idle" is B under the attack against B at rest, both over the control.
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


Reader = tuple[str, str]  # a server's base URL and B's key on it
Figures = tuple[float, float]  # B's median on the target, and on the control, in ms


def latency(target: Reader, control: Reader, rounds: int = 6, n: int = 25) -> Figures:
    """B's median on the target and, request for request in turn, on an idle control server in its own process:
    the control feels whatever else the machine is doing, the target that and the attack. Each the lowest of a
    few round medians (a busy machine's stalls land in one round, not in all)."""
    clients = [httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
               for url, key in (target, control)]
    medians: list[list[float]] = [[], []]
    for client in clients:
        client.get("/v1/agents/me")
    for _ in range(rounds):
        times: list[list[float]] = [[], []]
        for _ in range(n):
            for which, client in enumerate(clients):
                started = time.perf_counter()
                client.get("/v1/agents/me")
                times[which].append(time.perf_counter() - started)
        for which in (0, 1):
            medians[which].append(statistics.median(times[which]))
    for client in clients:
        client.close()
    return min(medians[0]) * 1000, min(medians[1]) * 1000


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


def under(kind: str, url: str, key: str, threads: int, b: Reader, control: Reader, seconds: float = 10.0
          ) -> tuple[Figures, dict[int, int]]:
    """B's latency in the attack's steady state (after its first 2 s: the burst spent), and the attack's answers."""
    report: Any = multiprocessing.Queue()
    attacker = multiprocessing.Process(target=flood, args=(kind, url, key, threads, seconds, report))
    attacker.start()
    time.sleep(2.0)
    figures = latency(b, control)
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


def ratio(loaded: Figures, idle: Figures) -> str:
    """B's median relative to the control's, under the attack against idle just before."""
    under_, at_rest = loaded[0] / loaded[1], idle[0] / idle[1]
    return (f"B median {loaded[0]:.1f} ms (control {loaded[1]:.1f}; idle {idle[0]:.1f}, control {idle[1]:.1f}): "
            f"{under_ / max(at_rest, 1.0):.2f}x idle")


def main() -> None:
    with TemporaryDirectory() as tmp, sqlite_database(Path(tmp)) as db, \
            sqlite_database(Path(tmp)) as control_db, countersign_server(control_db, name="control") as idle_server, \
            countersign_server(db, COUNTERSIGN_RATE_LIMIT_PER_S=50) as server:
        url = server.base_url
        a = register_agent(url, "flooder")["api_key"]
        b = (url, register_agent(url, "reader", rate_limit_per_s=100_000)["api_key"])
        control = (idle_server.base_url, register_agent(idle_server.base_url, "reader")["api_key"])
        for kind, threads in [("batches", 20), ("sign-ins", 40), ("made-up keys", 40)]:
            idle = latency(b, control)
            before = audit_rows(db)
            figures, answers = under(kind, url, a, threads, b, control)
            print(f"{kind}, {threads} threads, 10 s: {ratio(figures, idle)}; answers {answers}; "
                  f"audit rows written {audit_rows(db) - before}")

        idle = latency(b, control)
        report: Any = multiprocessing.Queue()
        trickler = multiprocessing.Process(target=slow_sockets, args=(server.port, 1000, 11.0, report))
        trickler.start()
        time.sleep(2.0)  # all connected and trickling
        figures = latency(b, control)
        trickler.join(60)
        print(f"1,000 slow connections (a header line every 0.5 s): {ratio(figures, idle)}; "
              f"still open after 11 s: {report.get(timeout=10)}")


if __name__ == "__main__":
    main()
