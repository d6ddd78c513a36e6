"""The Temporal bridge: receives Countersign's callbacks and signals the workflow each draft names in
`metadata.temporal`. An ASGI app (`Bridge(client, secret)`) and the console script `countersign-temporal-bridge`.

Each signal carries a request id derived from the callback's `webhook-id`, so Temporal itself ignores the same
callback signalled twice, by one bridge or by several behind a load balancer.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import SignalWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from countersign_client._durable import TOPIC, CallbackReceiver, Decision, RetryLater

SIGNAL_RPC_TIMEOUT = timedelta(seconds=5)  # inside Countersign's 10 s wait for our answer: a slow signal is a 503
log = logging.getLogger("countersign_client.temporal")


class Bridge(CallbackReceiver):
    """ASGI app that turns each verified `draft.decided` callback into the `countersign.decision` signal.
    `client` is a connected `temporalio.client.Client` (or an async function returning one, awaited once)."""

    def __init__(self, client: Client | Callable[[], Awaitable[Client]], secret: str | Sequence[str]) -> None:
        super().__init__(secret, "temporal", self._signal)
        self._client = client if isinstance(client, Client) else None
        self._connect = None if isinstance(client, Client) else client
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None and self._connect is not None:
                    try:
                        self._client = await self._connect()
                    except RuntimeError as exc:  # the SDK's "Failed client connect"
                        raise RetryLater(f"Temporal is not reachable: {exc}") from exc
        assert self._client is not None
        return self._client

    async def _signal(self, webhook_id: str, decision: Decision, target: Mapping[str, Any]) -> str:
        workflow_id, namespace = target.get("workflow_id"), target.get("namespace")
        if not workflow_id:
            return "metadata.temporal names no workflow_id: nothing to signal"
        client = await self.client()
        request = SignalWorkflowExecutionRequest(
            namespace=str(namespace or client.namespace),
            workflow_execution=WorkflowExecution(workflow_id=str(workflow_id)),
            signal_name=TOPIC, identity=client.identity,
            request_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"countersign:{webhook_id or decision.draft_id}")))
        request.input.payloads.extend(await client.data_converter.encode([decision.to_dict()]))
        try:
            await client.workflow_service.signal_workflow_execution(request, retry=False,
                                                                    timeout=SIGNAL_RPC_TIMEOUT)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND and "namespace" not in exc.message.lower():
                # The workflow finished (or never was): nobody is waiting, and retrying cannot change that.
                return f"workflow {workflow_id} is not running: nothing to signal"
            raise RetryLater(f"Temporal refused the signal to {workflow_id}: {exc.status.name} {exc.message}") \
                from exc
        except RuntimeError as exc:  # a lazy client's "Failed client connect": Temporal is not reachable yet
            raise RetryLater(f"Temporal is not reachable: {exc}") from exc
        return f"signalled workflow {workflow_id}"


def _parser() -> argparse.ArgumentParser:
    env = os.environ.get
    p = argparse.ArgumentParser(prog="countersign-temporal-bridge", description=(
        "Receive Countersign's callbacks and signal the Temporal workflow each decided draft belongs to. "
        "Answers 2xx only once Temporal accepted the signal, so Countersign retries while Temporal is down."))
    p.add_argument("--temporal", default=env("TEMPORAL_ADDRESS", "localhost:7233"),
                   help="Temporal frontend HOST:PORT (env TEMPORAL_ADDRESS; default localhost:7233)")
    p.add_argument("--namespace", default=env("TEMPORAL_NAMESPACE", "default"),
                   help="namespace for a draft whose metadata names none (env TEMPORAL_NAMESPACE)")
    p.add_argument("--secret", action="append", default=None,
                   help="the agent's webhook secret (env COUNTERSIGN_WEBHOOK_SECRET); repeat during a rotation")
    p.add_argument("--host", default=env("COUNTERSIGN_BRIDGE_HOST", "127.0.0.1"), help="listen address")
    p.add_argument("--port", type=int, default=int(env("COUNTERSIGN_BRIDGE_PORT", "8787")), help="listen port")
    p.add_argument("--api-key", default=env("TEMPORAL_API_KEY"), help="Temporal Cloud API key (env TEMPORAL_API_KEY)")
    p.add_argument("--tls", action="store_true", help="connect to Temporal over TLS (implied by the options below)")
    p.add_argument("--tls-cert", help="client certificate (PEM) for mTLS")
    p.add_argument("--tls-key", help="client private key (PEM) for mTLS")
    p.add_argument("--tls-ca", help="CA certificate (PEM) to verify the server with")
    p.add_argument("--tls-server-name", help="server name to verify (and send as SNI)")
    p.add_argument("--log-level", default="info")
    return p


def _tls(args: argparse.Namespace) -> bool | TLSConfig:
    if bool(args.tls_cert) != bool(args.tls_key):
        raise SystemExit("countersign-temporal-bridge: --tls-cert and --tls-key go together")
    if not (args.tls_cert or args.tls_ca or args.tls_server_name):
        return bool(args.tls or args.api_key)

    def read(path: str | None) -> bytes | None:
        return Path(path).read_bytes() if path else None
    return TLSConfig(server_root_ca_cert=read(args.tls_ca), domain=args.tls_server_name,
                     client_cert=read(args.tls_cert), client_private_key=read(args.tls_key))


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn  # the console script's server; the ASGI app itself needs none

    args = _parser().parse_args(argv)
    secrets = args.secret or [s for s in [os.environ.get("COUNTERSIGN_WEBHOOK_SECRET")] if s]
    if not secrets:
        raise SystemExit("countersign-temporal-bridge: pass --secret or set COUNTERSIGN_WEBHOOK_SECRET")
    tls = _tls(args)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def connect() -> Client:
        # Lazy: the bridge comes up (and answers 503) while Temporal is still down, then connects on first use.
        return await Client.connect(args.temporal, namespace=args.namespace, tls=tls, api_key=args.api_key,
                                    lazy=True)

    app = Bridge(connect, secrets)
    log.info("countersign-temporal-bridge on %s:%s -> Temporal %s", args.host, args.port, args.temporal)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level.lower(), access_log=False)


if __name__ == "__main__":
    main()
