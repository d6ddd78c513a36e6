"""Earned autonomy, evaluation sets from real decisions, and prompt-version discipline.

How a new draft is routed (services/drafts/routing.py calls in here):
- the action's configured `autonomy: deny` refuses it (403) and opens a `policy_violation` incident;
- a guard forces review whatever was earned: cost over `max_cost_per_request_usd`, confidence under the action's
  `confidence_floor`, an open critical incident;
- otherwise the level of (agent, action, prompt version) decides: `auto` drafts are `auto_approved` at once and a
  share of them (`audit_sample_rate`, a stable draw from the draft id) goes to the review channel with
  Looks right / Should not have passed. A prompt version never seen before starts at `review`.

The admin's `autonomy: auto` grants auto to the prompt version the next draft carries (the version in use when the
setting is first seen); changing it back to `review` withdraws that grant. Autonomy the owner granted on evidence
is separate and stays.

Earning it: each human decision (approved, edited with a normalised edit distance, rejected, expired) is evidence
for its version. When the rolling window (the last max(100, min_decisions, clean_streak) decisions) meets the rule,
the owner gets one card with Promote / Not yet; nothing changes without the owner. "Not yet" waits `clean_streak`
more decisions before proposing again.

Losing it, at once and with the owner told why: a sample marked Should not have passed, an incident naming the
action in `details.action` (only `details.prompt_version` if given), or 3 rejections in a row of that version.

Regressions: after each decision the version (and the model) is compared with the one before it; a one-sided
two-proportion z-test at p < 0.01 with at least 20 decisions each opens one `anomaly` incident per pair.

Public entry points for other domains:
- service.level_for(session=, agent=, action=, prompt_version=, now=) -> "review" | "auto"
- flows.report_denied(session=, ctx=, agent=, action=, reason=)
- flows.on_decided(session=, ctx=, agent=, draft=) and flows.on_incident(...)  (reactions: services/wiring.py)
- flows.overview(ctx=, name=) -> models.Overview
- evals.lines(ctx.read, agent_id=, action=, since=) -> JSON Lines; evals.parse_since(text)
"""
