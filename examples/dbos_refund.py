"""A DBOS workflow that refunds only after a person approves it in Slack, with the amount as they edited it.

    COUNTERSIGN_URL=http://127.0.0.1:8000 COUNTERSIGN_API_KEY=... COUNTERSIGN_WEBHOOK_SECRET=whsec_... \\
        python examples/dbos_refund.py A-1001 12.50

The bridge is served (by uvicorn, `pip install uvicorn`) from the application's own process on BRIDGE_PORT
(default 8787): point the agent's callback_url at http://<this host>:8787/countersign. DBOS keeps its state in
DBOS_SYSTEM_DATABASE_URL (default: a SQLite file here; PostgreSQL in production), so a refund waiting for its
approval survives a restart.
"""

from __future__ import annotations

import os
import sys
import threading

import uvicorn
from countersign_client import Countersign
from countersign_client import dbos as cs_dbos
from dbos import DBOS

cs = Countersign()  # COUNTERSIGN_URL and COUNTERSIGN_API_KEY


@DBOS.step()
def refund(order_id: str, amount: float) -> str:
    return f"refunded {amount} EUR on {order_id}"  # your real side effect goes here


@DBOS.workflow()
def refund_flow(order_id: str, amount: float) -> str:
    decision = cs_dbos.approval(cs, action="refund", title=f"Refund {amount} EUR on order {order_id}",
                                body={"order_id": order_id, "amount": amount}, timeout_s=3600)
    if not decision.approved:
        return f"not refunded ({decision.status}): {decision.reason}"
    edited = decision.final_body  # the reviewer may have changed the amount
    return refund(edited["order_id"], float(edited["amount"]))


def serve_bridge(port: int) -> uvicorn.Server:
    """The bridge beside the workflows: any ASGI server (or a route of your FastAPI app) will do."""
    bridge = cs_dbos.Bridge(os.environ["COUNTERSIGN_WEBHOOK_SECRET"])
    server = uvicorn.Server(uvicorn.Config(bridge, host=os.environ.get("BRIDGE_HOST", "127.0.0.1"), port=port,
                                           log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    return server


if __name__ == "__main__":
    DBOS(config={"name": "refunds",
                 "system_database_url": os.environ.get("DBOS_SYSTEM_DATABASE_URL", "sqlite:///refunds.sqlite")})
    DBOS.launch()
    server = serve_bridge(int(os.environ.get("BRIDGE_PORT", "8787")))
    print(DBOS.start_workflow(refund_flow, sys.argv[1], float(sys.argv[2])).get_result())
    server.should_exit = True
    DBOS.destroy()
