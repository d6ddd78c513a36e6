"""Draft create against a peer, in the same run: awaithumans 0.1.12's task create (`POST /api/tasks`), the
nearest open-source tool that does the same job (an agent asks, a human answers, the agent resumes).

`python -m bench.peer [--n N]` on its own, or as part of `python -m bench.run`. The peer is installed from the
package registry into its own virtual environment (`COUNTERSIGN_BENCH_PEER_VENV`, default
~/.cache/countersign-bench/awaithumans-0.1.12) the first time, never into ours. Both servers run on SQLite files
on this machine, one after the other, driven by the same load driver.

What each side does per request, so the figure is read fairly: Countersign validates the draft, writes it with
its audit entry and outbox row, and posts the review card to the (fake) Slack from the same process; the peer
writes its task and, asked to notify nobody (its Slack client cannot be pointed at a fake, and nothing here may
call slack.com), posts nothing. Countersign does more per request in this comparison, not less.
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.run import REVIEW_CHANNEL, Cpu, _bodies
from testkit.fakes.slack import FakeSlack
from testkit.live import ServerProcess, countersign_server, register_agent, sqlite_database
from testkit.load import LoadResult, Request, run_load

PEER = "awaithumans"
VERSION = "0.1.12"
TOKEN = "bench-peer-admin-token"
CONCURRENCY = (1, 16)


@dataclass(frozen=True)
class Cell:
    who: str
    concurrency: int
    result: LoadResult
    cpu_ms: float | None


def peer_venv() -> Path:
    default = Path.home() / ".cache" / "countersign-bench" / f"{PEER}-{VERSION}"
    return Path(os.environ.get("COUNTERSIGN_BENCH_PEER_VENV", default))


def ensure_peer() -> Path:
    """The peer's console script, installing it on first use (a minute or two; the registry must be reachable)."""
    venv = peer_venv()
    script = venv / "bin" / PEER
    if script.exists():
        return script
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"{PEER}[server]=={VERSION}"],
                   check=True, stdout=subprocess.DEVNULL)
    return script


def peer_server(script: Path, db_file: Path) -> ServerProcess:
    env = {"AWAITHUMANS_DB_PATH": str(db_file), "AWAITHUMANS_ADMIN_API_TOKEN": TOKEN,
           "AWAITHUMANS_PAYLOAD_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode()}
    argv = [str(script), "serve", "--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning"]
    return ServerProcess(argv, env, name=PEER, ready_path="/api/health", ready_status="ok")


def _peer_task(run: str) -> Callable[[int], Request]:
    body = _bodies()["drafts"][1]

    def make(i: int) -> Request:
        draft = body(i)
        return Request("POST", "/api/tasks", headers={"X-Admin-Token": TOKEN}, json={
            "task": draft["title"], "payload": {"body": draft["body"], "context": draft["context"]},
            "payload_schema": {}, "response_schema": {}, "timeout_seconds": 3600,
            "idempotency_key": f"bench-{run}-{i}"})
    return make


def compare(n: int) -> list[Cell]:
    """Countersign's draft create, then the peer's task create, at each concurrency."""
    script = ensure_peer()
    cells: list[Cell] = []
    body = _bodies()["drafts"][1]
    with sqlite_database() as url, FakeSlack(token=None) as slack, \
            countersign_server(url, slack_url=slack.url, name="countersign-vs-peer") as ours:
        agent = register_agent(ours.base_url, f"peer-{uuid.uuid4().hex[:6]}", review_channel=REVIEW_CHANNEL)
        auth = {"Authorization": f"Bearer {agent['api_key']}"}
        for c in CONCURRENCY:
            cpu = Cpu(ours)
            result = run_load(ours.base_url, lambda i, c=c: Request("POST", "/v1/drafts", json=body(i + c * n),
                                                                     headers=auth), n=n, concurrency=c)
            cells.append(Cell("countersign", c, result, cpu.per_request(result)))
    run = uuid.uuid4().hex[:8]
    with sqlite_database() as url, peer_server(script, Path(url.removeprefix("sqlite:///"))) as peer:
        make = _peer_task(run)
        for c in CONCURRENCY:
            cpu = Cpu(peer)
            result = run_load(peer.base_url, lambda i, c=c: make(i + c * n), n=n, concurrency=c)
            cells.append(Cell(PEER, c, result, cpu.per_request(result)))
    return cells


def table(cells: list[Cell]) -> str:
    lines = [f"| measure | concurrency | per second | p50 ms | p99 ms | server CPU ms/request | vs {PEER} |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for cell in cells:
        peer = next((p for p in cells if p.who == PEER and p.concurrency == cell.concurrency), None)
        ratio = (f"{cell.result.throughput / peer.result.throughput:.2f}×"
                 if cell.who != PEER and peer and peer.result.throughput else "—")
        what = ("Countersign draft create (card posted)" if cell.who != PEER
                else f"{PEER} {VERSION} task create (no notification)")
        bad = cell.result.n - cell.result.ok
        cpu = f"{cell.cpu_ms:.2f}" if cell.cpu_ms is not None else "—"
        lines.append(f"| {what}{f' ({bad} failed)' if bad else ''} | {cell.concurrency} | "
                     f"{cell.result.throughput:.0f} | {cell.result.p50_ms:.1f} | {cell.result.p99_ms:.1f} | {cpu} | "
                     f"{ratio} |")
    return "\n".join(lines)


def ratio_at(cells: list[Cell], concurrency: int) -> float | None:
    ours = next((c for c in cells if c.who != PEER and c.concurrency == concurrency), None)
    peer = next((c for c in cells if c.who == PEER and c.concurrency == concurrency), None)
    if ours is None or peer is None or not peer.result.throughput:
        return None
    return ours.result.throughput / peer.result.throughput


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="requests per cell")
    args = parser.parse_args()
    print(table(compare(args.n)))


if __name__ == "__main__":
    main()
