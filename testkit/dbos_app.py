"""A DBOS application in its own process, for the crash test: the bridge on a loopback port and a workflow that
asks for approval; on start DBOS recovers any workflow a killed predecessor left waiting.

    python -m testkit.dbos_app --db URL --port P --base-url URL --api-key KEY --secret S [--start ID TITLE]
"""

from __future__ import annotations

import argparse
import threading
from typing import Any

import uvicorn
from countersign_client import Countersign
from countersign_client import dbos as cs_dbos
from dbos import DBOS, SetWorkflowID

CLIENT: dict[str, Countersign] = {}


@DBOS.workflow()
def approval_flow(title: str) -> dict[str, Any]:
    return cs_dbos.approval(CLIENT["cs"], action="refund", title=title, body="Refund $40").to_dict()


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("--db", "--port", "--base-url", "--api-key", "--secret"):
        parser.add_argument(name, required=True)
    parser.add_argument("--start", nargs=2, metavar=("ID", "TITLE"))
    args = parser.parse_args()
    CLIENT["cs"] = Countersign(api_key=args.api_key, base_url=args.base_url)
    DBOS(config={"name": "countersign-dbos-crash", "system_database_url": args.db, "log_level": "WARNING",
                 "notification_listener_polling_interval_sec": 0.1})
    DBOS.launch()
    server = uvicorn.Server(uvicorn.Config(cs_dbos.Bridge(args.secret), host="127.0.0.1", port=int(args.port),
                                           log_level="warning", lifespan="off"))
    if args.start:
        with SetWorkflowID(args.start[0]):
            DBOS.start_workflow(approval_flow, args.start[1])
    print("dbos app ready", flush=True)
    thread = threading.Thread(target=server.run)
    thread.start()
    thread.join()


if __name__ == "__main__":
    main()
