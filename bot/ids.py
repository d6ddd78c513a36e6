"""Action, block and callback ids in one place, so builders and listeners can't drift apart."""

COMMAND = "/countersign"

# Incidents: card buttons carry the incident id as value; snooze and halt ids end in their choice.
INCIDENT_ACTIONS_BLOCK = "incident_actions"
INCIDENT_HALT_BLOCK = "incident_halt"
INCIDENT_ACK = "incident_ack"
INCIDENT_RESOLVE = "incident_resolve"
INCIDENT_SNOOZE_PREFIX = "incident_snooze_"  # + seconds, e.g. incident_snooze_1800
INCIDENT_PAUSE = "incident_pause"
RUN_HALT_PREFIX = "run_halt_"  # + choice: resume | abort | handoff
INCIDENT_RESOLVE_VIEW = "incident_resolve_modal"
INCIDENT_NOTE_BLOCK = "incident_note"
INCIDENT_NOTE_INPUT = "note"
# A storm card (many incidents of one agent): its buttons carry the storm id as value.
STORM_ACTIONS_BLOCK = "storm_actions"
STORM_ACK_ALL = "storm_ack_all"
STORM_PAUSE = "storm_pause"
STORM_LINK = "storm_link"

# Drafts: the card's buttons (value "<draft id>:<revision>") and the two modals.
DRAFT_ACTIONS_BLOCK = "draft_actions"
DRAFT_APPROVE = "draft_approve"
DRAFT_EDIT = "draft_edit"
DRAFT_REJECT = "draft_reject"
DRAFT_EDIT_VIEW = "draft_edit_modal"
DRAFT_REJECT_VIEW = "draft_reject_modal"
DRAFT_EDIT_BLOCK = "draft_text"  # numbered draft_text_0, draft_text_1… when the text is split
DRAFT_EDIT_INPUT = "text"
DRAFT_REASON_BLOCK = "draft_reason"
DRAFT_REASON_INPUT = "reason"

# Spend: the paused-for-budget card (value "<agent>|<budget key>|<limit>|<period start>|<extra>").
SPEND_PAUSE_BLOCK = "spend_pause_actions"
SPEND_RAISE_PREFIX = "spend_raise_"  # + percent, e.g. spend_raise_25
SPEND_RESUME_ONCE = "spend_resume_once"
SPEND_KEEP_PAUSED = "spend_keep_paused"

# Autonomy: the owner's proposal card (value: autonomy state id) and the sampled auto-approval (value: draft id).
AUTONOMY_PROPOSAL_BLOCK = "autonomy_proposal"
AUTONOMY_PROMOTE = "autonomy_promote"
AUTONOMY_NOT_YET = "autonomy_not_yet"
AUTONOMY_SAMPLE_BLOCK = "autonomy_sample"
AUTONOMY_LOOKS_RIGHT = "autonomy_looks_right"
AUTONOMY_SHOULD_NOT_PASS = "autonomy_should_not_have_passed"
DRAFT_CLAIM = "draft_claim"
DRAFT_RELEASE = "draft_release"
DRAFT_ASSIGN = "draft_assign"  # a users_select: the chosen person gets the claim and the card by DM

# People away: App Home's buttons and the away modal (its submission carries no value; the user is the clicker).
PEOPLE_BLOCK = "people_away"
PEOPLE_SET_AWAY = "people_set_away"
PEOPLE_BACK = "people_back"
PEOPLE_AWAY_VIEW = "people_away_modal"
PEOPLE_UNTIL_BLOCK = "people_until"
PEOPLE_UNTIL_INPUT = "until"
PEOPLE_DELEGATE_BLOCK = "people_delegate"
PEOPLE_DELEGATE_INPUT = "delegate"

# Oversight: the owner's prompt (or model) change card (value: the change id).
OVERSIGHT_CHANGE_BLOCK = "oversight_change"
OVERSIGHT_APPROVE_VERSION = "oversight_approve_version"
OVERSIGHT_REJECT_VERSION = "oversight_reject_version"
