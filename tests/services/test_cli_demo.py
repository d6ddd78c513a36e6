"""`countersign demo`, as a reader without Slack uses it: the link signs in, a decision in the web app reaches
the demo agent, and the terminal shows the callback it received. Its database is gone afterwards."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_demo_from_link_to_callback(tmp_path: Path) -> None:
    """Sign in with the printed link, approve the first draft, see `← callback … approved` printed. Its port
    taken, the demo says where it moved; stopped with SIGTERM (as by a service manager), its database is gone as
    after Ctrl-C."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COUNTERSIGN_", "SLACK_", "DATABASE_URL"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["SLACK_BOT_TOKEN"] = "xoxb-must-be-ignored"  # the demo keeps Slack off whatever the environment says
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    busy = taken.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "services", "demo", "--port", str(busy), "--interval", "60"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            stdin=subprocess.DEVNULL)
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout or []], daemon=True).start()

    def expect(pattern: str, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                seen.append(lines.get(timeout=max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                break
            found = re.search(pattern, seen[-1])
            if found:
                return found
        raise AssertionError(f"no line matching {pattern!r} in:\n" + "".join(seen))

    try:
        moved = expect(rf"Port {busy} is busy: the demo runs on port (\d+) instead \(--port to choose\)").group(1)
        database = expect(r"database:\s+sqlite \((\S+)\), thrown away on exit").group(1)
        link = expect(r"(http://127\.0\.0\.1:\d+/app/login/\S+)").group(1)
        first = expect(r"agent asked for approval: 'Quote CHI .*' \((drf_\w+)\)").group(1)
        base = link.split("/app/")[0]
        assert base == f"http://127.0.0.1:{moved}"
        with httpx.Client(base_url=base, timeout=30) as browser:
            assert browser.post("/app/login", data={"token": link.rsplit("/", 1)[1]}).status_code == 303
            token = CSRF.search(browser.get(f"/app/drafts/{first}").text).group(1)  # type: ignore[union-attr]
            decided = browser.post(f"/app/drafts/{first}/approve", data={"csrf_token": token, "revision": "0"})
            assert decided.status_code == 303
        expect(r"← callback draft\.decided: 'Quote CHI .*' is approved \(by U0DEMOREVIEWER\)")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        taken.close()
    assert not Path(database).exists()
    assert not any("Traceback" in line for line in seen), "".join(seen)
