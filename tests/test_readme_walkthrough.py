"""The README's "First agent in two minutes" (with its two-stage refund), run as a newcomer types it, from a
clean folder: the `echo` into .env, one real `countersign serve` (on a free port: the README's 8000 may be taken
here), the curl lines as written, and the `countersign` commands in process. The sign-in link must name the port
serve listens on."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from testkit.live import free_port
from tests.services.cli.run import cli

ROOT = Path(__file__).resolve().parent.parent


def walkthrough() -> list[str]:
    """The shell commands of the section, one per entry (continuation lines joined, comments dropped)."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## First agent in two minutes", 1)[1].split("\n## ", 1)[0]
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for command in block.replace("\\\n", " ").splitlines():
            command = re.sub(r"\s+#.*$", "", command).strip()  # a comment after two spaces or more
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def _serve(folder: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COUNTERSIGN_", "SLACK_", "DATABASE_URL"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.Popen([sys.executable, "-m", "services", "serve", "--port", str(port)], cwd=folder, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, proc.communicate()[0]
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("serve did not come up: " + proc.communicate()[0])


def test_first_agent_walkthrough_from_a_clean_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command of the walkthrough succeeds in order; the long-poll started before the decision answers
    `approved`; the agent key works and is never listed; the sign-in link names serve's port and signs in."""
    commands = walkthrough()
    assert any("countersign serve" in c for c in commands) and any(c.startswith("curl") for c in commands)
    monkeypatch.chdir(tmp_path)  # the in-process CLI reads ./.env and ./countersign.db, as from a terminal there
    port = free_port()
    key = draft = ""
    serve: subprocess.Popen[str] | None = None
    waiting: list[subprocess.Popen[str]] = []
    printed: dict[str, str] = {}

    def fill(command: str) -> str:
        return (command.replace("cs_agent_…", key).replace("drf_…", draft)
                .replace("localhost:8000", f"127.0.0.1:{port}"))

    try:
        for command in commands:
            if command.startswith("python3.11 -m venv"):
                continue  # installing: this suite already runs in the installed project
            if command.endswith("countersign serve"):
                serve = _serve(tmp_path, port)
            elif command.startswith(".venv/bin/countersign "):
                args = shlex.split(fill(command))[1:]
                done = cli(*args, url=None)
                assert done.exit_code == 0, (command, done.output)
                printed[args[0] + " " + args[1]] = done.stdout
                if args[:2] == ["agents", "add"]:
                    key = re.search(r"api_key:\s+(cs_agent_\S+)", done.stdout).group(1)  # type: ignore[union-attr]
            elif command.startswith("curl") and "wait=" in command:  # a long-poll: it waits while we decide
                waiting.append(subprocess.Popen(["bash", "-c", fill(command)], stdout=subprocess.PIPE, text=True))
            else:
                done_shell = subprocess.run(["bash", "-c", fill(command)], capture_output=True, text=True, timeout=30)
                assert done_shell.returncode == 0, (command, done_shell.stderr)
                if '"action"' in command:
                    draft = re.search(r'"id":\s*"(drf_\w+)"', done_shell.stdout).group(1)  # type: ignore[union-attr]
                elif "agents/me" in command:
                    assert '"name":"quoter"' in done_shell.stdout.replace(" ", ""), done_shell.stdout
        assert serve is not None and key and draft and waiting
        answer = waiting[0].communicate(timeout=40)[0]
        assert '"status":"approved"' in answer.replace(" ", ""), answer
        link = printed["web login-link"].strip()
        assert link.startswith(f"http://127.0.0.1:{port}/app/login/"), link
        signed = httpx.post(f"http://127.0.0.1:{port}/app/login", data={"token": link.rsplit("/", 1)[1]})
        assert signed.status_code == 303
        shown = printed["drafts show"]  # the staged refund: both stages passed, each by its own person
        assert "support lead" in shown and "finance" in shown and "U090FINANCE" in shown, shown
        listed = cli("agents", "list", url=None)
        assert "quoter" in listed.stdout and key not in listed.stdout
    finally:
        for proc in [*waiting, *([serve] if serve else [])]:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(30)
