"""A flooding agent in its own process: T threads send the same request back to back for S seconds, then one
JSON line is printed: status counts, how many 429s carried Retry-After, and when each 2xx was answered.

Its own process so that its threads never share a GIL with the test measuring another agent's latency.
Run: python -m testkit.flood URL PATH API_KEY SECONDS THREADS [JSON_BODY]
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from typing import Any

import httpx

from testkit.live import ROOT


def flood(url: str, path: str, api_key: str, seconds: float, threads: int, body: Any = None) -> dict[str, Any]:
    statuses: Counter[int] = Counter()
    admitted: list[float] = []
    with_retry_after = 0
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + seconds

    def worker() -> None:
        nonlocal with_retry_after
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30) as client:
            while time.monotonic() < deadline:
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

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return {"statuses": dict(statuses), "with_retry_after": with_retry_after, "admitted_at": admitted}


def start(url: str, path: str, api_key: str, seconds: float, threads: int, body: Any = None) -> subprocess.Popen[str]:
    """Start a flood in a child process; read its result with `result(proc)`."""
    argv = [sys.executable, "-m", "testkit.flood", url, path, api_key, str(seconds), str(threads)]
    if body is not None:
        argv.append(json.dumps(body))
    return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)


def result(proc: subprocess.Popen[str], timeout: float = 120) -> dict[str, Any]:
    out, _ = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"flood exited with {proc.returncode}")
    answer: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    answer["statuses"] = {int(k): v for k, v in answer["statuses"].items()}
    return answer


if __name__ == "__main__":
    url, path, key, secs, n = sys.argv[1:6]
    payload = json.loads(sys.argv[6]) if len(sys.argv) > 6 else None
    print(json.dumps(flood(url, path, key, float(secs), int(n), payload)))
