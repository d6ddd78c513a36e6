"""The OpenAPI document is a contract: stable operation ids, bearer security, typed answers, problem+json errors,
and a client generated from it by a generator nobody here wrote (openapi-python-client) works against a live
server."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.http.openapi import OPERATION_IDS
from services.http.problems import PROBLEM
from testkit.live import ServerProcess, countersign_server, register_agent
from tests.harness import Harness

GENERATED = "generated_countersign"
# The generator knows JSON, text and bytes; JSON Lines (GET /v1/evals) is text to it, as it is to a reader.
CONFIG = f"package_name_override: {GENERATED}\nproject_name_override: generated-countersign\n" \
         "content_type_overrides:\n  application/jsonl: text/plain\n"


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


def test_every_operation_is_named_secured_and_declares_its_problems(harness: Harness) -> None:
    """Operation ids come from OPERATION_IDS; /v1 operations carry a bearer scheme and declare problem+json
    errors (401 and 422 at least); nothing asks for an `authorization` header parameter."""
    spec = harness.client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert {name: s["scheme"] for name, s in schemes.items()} == {"agentKey": "bearer", "adminToken": "bearer"}
    for method, path, operation in operations(spec):
        assert OPERATION_IDS.get((method, path)) == operation["operationId"], f"{method} {path}: name it"
        assert operation.get("tags") and operation.get("summary"), f"{method} {path}"
        if not path.startswith("/v1/"):
            continue
        assert operation.get("security") in ([{"agentKey": []}], [{"adminToken": []}]), f"{method} {path}"
        assert not any(p["name"].lower() == "authorization" for p in operation.get("parameters", []))
        for status in ("401", "422"):
            content = operation["responses"][status]["content"]
            assert content == {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}, (method, path)
        for status, response in operation["responses"].items():
            assert status[0] not in "45" or PROBLEM in response["content"], (method, path, status)
    assert spec["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status", "detail"]
    draft = spec["paths"]["/v1/drafts"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert draft == {"$ref": "#/components/schemas/DraftPublic"}
    agent_only = {operation["operationId"] for _, _, operation in operations(spec)
                  if operation.get("security") == [{"agentKey": []}]}
    assert {"createDraft", "getDraft", "cancelDraft", "getMe", "recordUsage", "startRun"} <= agent_only


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, dict[str, Any]]]:
    db = tmp_path_factory.mktemp("openapi") / "countersign.db"
    with countersign_server(f"sqlite:///{db}") as server:
        yield server, register_agent(server.base_url, "generated-client")


@pytest.fixture(scope="module")
def generated(live: tuple[ServerProcess, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The client openapi-python-client generates from the live server's spec, imported."""
    server, _ = live
    work = tmp_path_factory.mktemp("generated")
    (work / "spec.json").write_text(json.dumps(httpx.get(f"{server.base_url}/openapi.json", timeout=10).json()))
    (work / "config.yaml").write_text(CONFIG)
    bin_dir = str(Path(sys.executable).parent)  # the generator formats its output with ruff, from the same venv
    tool = shutil.which("openapi-python-client", path=bin_dir)
    assert tool, "openapi-python-client is in the test extra"
    done = subprocess.run([tool, "generate", "--path", "spec.json", "--output-path", "out", "--meta", "none",
                           "--config", "config.yaml", "--fail-on-warning"], cwd=work, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (work / "pkg").mkdir()
    (work / "out").rename(work / "pkg" / GENERATED)
    sys.path.insert(0, str(work / "pkg"))
    try:
        yield importlib.import_module(GENERATED)
    finally:
        sys.path.remove(str(work / "pkg"))
        for name in [m for m in sys.modules if m == GENERATED or m.startswith(GENERATED + ".")]:
            del sys.modules[name]


def test_a_generated_client_creates_and_reads_a_draft(live: tuple[ServerProcess, dict[str, Any]],
                                                       generated: Any) -> None:
    """createDraft and getDraft through the generated client come back as its DraftPublic; a wrong key is a 401
    and a bad action a 422, both parsed as its Problem."""
    server, agent = live
    create_draft = importlib.import_module(f"{GENERATED}.api.drafts.create_draft")
    get_draft = importlib.import_module(f"{GENERATED}.api.drafts.get_draft")
    models = importlib.import_module(f"{GENERATED}.models")
    client = generated.AuthenticatedClient(base_url=server.base_url, token=agent["api_key"])
    ask = models.DraftCreate(action="quote_freight_lane", title="Quote RTM-LYS", body="EUR 1,840 all in")

    created = create_draft.sync_detailed(client=client, body=ask)
    assert created.status_code == 201 and isinstance(created.parsed, models.DraftPublic)
    assert created.parsed.status == models.DraftPublicStatus.PENDING and created.parsed.agent == "generated-client"
    read = get_draft.sync(client=client, draft_id=created.parsed.id)
    assert isinstance(read, models.DraftPublic) and read.id == created.parsed.id and read.body == "EUR 1,840 all in"

    stranger = generated.AuthenticatedClient(base_url=server.base_url, token="cs_agent_not-a-real-key")
    refused = create_draft.sync_detailed(client=stranger, body=ask)
    assert refused.status_code == 401 and isinstance(refused.parsed, models.Problem)
    assert refused.parsed.status == 401 and refused.parsed.detail == "unknown or revoked API key"

    bad = models.DraftCreate(action="Not A Slug!", title="Quote", body="EUR 1")
    invalid = create_draft.sync_detailed(client=client, body=bad)
    assert invalid.status_code == 422 and isinstance(invalid.parsed, models.Problem)
    assert [e.field for e in invalid.parsed.errors] == ["action"]
