"""Oversight quality: whether the people reviewing an agent read what they approve, and whether a prompt or model
change went past them (docs/oversight.md).

- service.py   the report: per agent, action and reviewer, rates, time to decision, canaries, the rubber stamp
- canaries.py  known-bad drafts posted among real ones at the agent's `canary_rate`; catches and misses
- changes.py   prompt versions and new models waiting for their owner; the routing guard drafts call
- replay.py    past decisions run through a version's text with the OpenAI API, agreement per outcome
- flows.py     the entry points every surface (API, CLI, Slack, web) calls; chart.py, api.py, jobs.py

Hooks elsewhere, each marked "oversight": the draft's `is_canary` column and its checks (no callback, no
draft.decided, not in evals, listings or spend), the decision's `notice`, one call in drafts/routing.py and
create.plan, the draft.created reaction in services/wiring.py, the autonomy table's approved prompt version, and
the weekly digest's section.
"""
