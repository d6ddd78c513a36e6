"""A flooding agent in its own process: T threads send the same request back to back for S seconds, then one
JSON line is printed: status counts, how many 429s carried Retry-After, when each 2xx was answered, and how
long it ran. A flood started `stoppable` ends early once asked for its result (its stdin closed), so a test
pays for no more flood than it measures.

Its own process so that its threads never share a GIL with the test measuring another agent's latency.
Run: python -m testkit.flood URL PATH API_KEY SECONDS THREADS [JSON_BODY]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from typing import Any

import httpx

from testkit.live import ROOT

STOP_ON_EOF = "COUNTERSIGN_FLOOD_STOP_ON_EOF"


def flood(url: str, path: str, api_key: str, seconds: float, threads: int, body: Any = None,
          stop: threading.Event | None = None) -> dict[str, Any]:
    """`stop`, once set, ends the flood before its `seconds` are up."""
    statuses: Counter[int] = Counter()
    admitted: list[float] = []
    with_retry_after = 0
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + seconds

    stop = stop or threading.Event()

    def worker(client: httpx.Client) -> None:
        nonlocal with_retry_after
        while time.monotonic() < deadline and not stop.is_set():
            try:
                response = client.request("POST" if body is not None else "GET", path, json=body)
            except httpx.HTTPError:
                continue
            with lock:
                statuses[response.status_code] += 1
                if response.status_code == 429 and response.headers.get("retry-after", "").isdigit():
                    with_retry_after += 1
                if response.is_success:
                    admitted.append(time.monotonic() - started)

    # One client, a connection per thread from its pool: a client each would cost every thread ~20 ms of CPU
    # to set up (its TLS context), the whole flood's start-up.
    limits = httpx.Limits(max_connections=threads, max_keepalive_connections=threads)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30,
                      limits=limits) as client:
        pool = [threading.Thread(target=worker, args=(client,)) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    return {"statuses": dict(statuses), "with_retry_after": with_retry_after, "admitted_at": admitted,
            "seconds": time.monotonic() - started}


def start(url: str, path: str, api_key: str, seconds: float, threads: int, body: Any = None, *,
          stoppable: bool = False) -> subprocess.Popen[str]:
    """Start a flood in a child process; read its result with `result(proc)`. A `stoppable` flood runs at most
    `seconds` and stops as soon as `result(proc)` is called (its result's "seconds" says how long it ran)."""
    argv = [sys.executable, "-m", "testkit.flood", url, path, api_key, str(seconds), str(threads)]
    if body is not None:
        argv.append(json.dumps(body))
    if not stoppable:
        return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    return subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, STOP_ON_EOF: "1"})


def result(proc: subprocess.Popen[str], timeout: float = 120) -> dict[str, Any]:
    out, _ = proc.communicate(timeout=timeout)  # closes a stoppable flood's stdin: it stops
    if proc.returncode != 0:
        raise RuntimeError(f"flood exited with {proc.returncode}")
    answer: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    answer["statuses"] = {int(k): v for k, v in answer["statuses"].items()}
    return answer


if __name__ == "__main__":
    url, path, key, secs, n = sys.argv[1:6]
    payload = json.loads(sys.argv[6]) if len(sys.argv) > 6 else None
    stopped = threading.Event()
    if os.environ.get(STOP_ON_EOF):
        threading.Thread(target=lambda: (sys.stdin.read(), stopped.set()), daemon=True).start()
    print(json.dumps(flood(url, path, key, float(secs), int(n), payload, stopped)))
