"""A function that runs only after a person approves it in Slack, with the arguments as they edited them.

    COUNTERSIGN_URL=http://127.0.0.1:8000 COUNTERSIGN_API_KEY=... python examples/quickstart.py A-1001 12.50
"""

from __future__ import annotations

import sys

from countersign_client import Countersign, Rejected

cs = Countersign()  # COUNTERSIGN_URL and COUNTERSIGN_API_KEY


@cs.require_approval(action="refund", title="Refund {amount} EUR on order {order_id}", timeout=3600)
def refund(order_id: str, amount: float) -> str:
    return f"refunded {amount} EUR on {order_id}"  # your real side effect goes here


if __name__ == "__main__":
    order_id, amount = sys.argv[1], float(sys.argv[2])
    try:
        print(refund(order_id, amount))
    except Rejected as no:
        print(f"not refunded: {no.reason}")
