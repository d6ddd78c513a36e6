"""Where the live server spends its time under load, sampled with py-spy (all threads, idle excluded):
`python -m bench.profile [--pg URL] [--what drafts|usage|incidents] [--seconds 15]`.

Prints the top functions by own samples and by inclusive samples, and keeps the collapsed stacks (load them
into speedscope or flamegraph.pl) next to RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

from bench.run import BATCH, INCIDENTS, _bodies
from testkit.fakes.receiver import FakeAgentReceiver
from testkit.fakes.slack import FakeSlack
from testkit.live import countersign_server, pg_database, register_agent, sqlite_database
from testkit.load import Request, run_load


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: pip install -e '.[bench]'")
    return found


SHORT = {"incidents": INCIDENTS, "batch": f"usage batch ({BATCH} events)"}


def record(db_url: str, what: str, seconds: int, out: Path, gil: bool = False, concurrency: int = 16) -> str:
    path, body = _bodies()[SHORT.get(what, what)]
    with FakeSlack(token=None) as slack, FakeAgentReceiver() as receiver, \
            countersign_server(db_url, slack_url=slack.url) as server:
        agent = register_agent(server.base_url, f"profile-{uuid.uuid4().hex[:6]}", callback_url=receiver.url)
        assert server.proc is not None
        sampler = subprocess.Popen([py_spy(), "record", "--pid", str(server.proc.pid), "--duration", str(seconds),
                                    "--rate", "200", "--format", "raw", "--output", str(out),
                                    *(["--gil"] if gil else [])],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        result = run_load(server.base_url, lambda i: Request("POST", path, json=body(i), headers={
            "Authorization": f"Bearer {agent['api_key']}"}), n=60 * seconds, concurrency=concurrency)
        sampler.wait(seconds + 30)
    return f"{what}: {result.throughput:.0f}/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms (while sampled)"


# Leaves where a thread waits for work rather than doing it (py-spy can't always tell idle threads apart here).
IDLE = ("Condition.wait (threading.py", "_worker (concurrent/futures/thread.py:81)", "Runner.run (asyncio/runners.py",
        "select (selectors.py", "_run_once (asyncio/base_events.py", "serve_forever (socketserver.py")


def summarize(stacks: Path, top: int = 25) -> str:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    ours: Counter[str] = Counter()  # the innermost frame of our own code: which of our lines the time is under
    samples = 0
    for line in stacks.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if not frames or not count.isdigit():
            continue
        n = int(count)
        parts = [f for f in frames.split(";") if not f.startswith(("process ", "thread "))]
        if not parts or parts[-1].startswith(IDLE):
            continue
        samples += n
        own[parts[-1]] += n
        mine = [f for f in parts if "(services/" in f or "(bot/" in f]
        ours[mine[-1] if mine else "(outside our code: server, Slack SDK, event loop)"] += n
        for frame in set(parts):
            total[frame] += n
    samples = samples or 1
    lines = [f"{samples} busy samples (threads waiting for work left out)", "", "own samples:"]
    lines += [f"  {n / samples:6.1%}  {frame}" for frame, n in own.most_common(top)]
    lines += ["", "innermost frame of our own code:"]
    lines += [f"  {n / samples:6.1%}  {frame}" for frame, n in ours.most_common(top)]
    lines += ["", "inclusive samples:"]
    lines += [f"  {n / samples:6.1%}  {frame}" for frame, n in total.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=None, help="profile on a fresh PostgreSQL database next to this URL")
    parser.add_argument("--what", default="drafts", choices=["drafts", "usage", "incidents", "batch"])
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--gil", action="store_true",
                        help="sample only the thread holding the GIL: where the one Python core's time goes")
    args = parser.parse_args()
    backend = "postgres" if args.pg else "sqlite"
    out = Path(__file__).with_name(f"profile-{args.what}-c{args.concurrency}-{backend}.txt")
    with (pg_database(args.pg) if args.pg else sqlite_database()) as url:
        headline = record(url, args.what, args.seconds, out, gil=args.gil, concurrency=args.concurrency)
    print(headline)
    print(summarize(out))
    print(f"\ncollapsed stacks: {os.path.relpath(out)}")


if __name__ == "__main__":
    main()
