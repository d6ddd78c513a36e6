"""The demo terminal says what the agent was told in words people read: "approved with edits", and the final
text as text (not a Python repr cut mid-word)."""

from __future__ import annotations

from services.demo.receiver import FINAL_TEXT_MAX, describe


def test_an_edited_decision_reads_as_approved_with_edits_and_shows_the_text() -> None:
    """Each line of the final text shows as it is, indented; a long text is cut at a space with an ellipsis."""
    body = {"data": {"title": "Quote CHI → DAL", "status": "edited", "decided_by": ["U0DEMOREVIEWER"],
                     "final_body": "Hello Dana,\nThe rate is $1,790 'all in'.\n" + "lane " * 200}}
    shown = describe("draft.decided", body)
    first, label, *text = shown.splitlines()
    assert first == "draft.decided: 'Quote CHI → DAL' is approved with edits (by U0DEMOREVIEWER)"
    assert label.strip() == "final text:"
    assert text[0] == "      Hello Dana," and text[1] == "      The rate is $1,790 'all in'."
    assert text[-1].endswith("lane …") and len("\n".join(text)) < FINAL_TEXT_MAX + 40
    assert "\\n" not in shown and "edited (" not in shown
