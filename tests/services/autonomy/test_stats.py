"""The arithmetic behind autonomy: edit distance, the diff, the deterministic sample draw."""

from __future__ import annotations

from services.autonomy.stats import edit_distance, sampled, unified_diff


def test_edit_distance_is_normalised() -> None:
    """0 for the same text, 1 for nothing in common, small for a small change, and it handles huge texts."""
    assert edit_distance("EUR 1,840 all in.", "EUR 1,840 all in.") == 0.0
    assert edit_distance("abc", "xyz") == 1.0
    assert 0 < edit_distance("EUR 1,840 all in.", "EUR 1,890 all in.") < 0.1
    big = "line of a long quote\n" * 2000
    assert 0 < edit_distance(big, big + "one more line\n") < 0.01


def test_unified_diff_shows_the_change() -> None:
    """The diff names both sides and marks the removed and added lines."""
    diff = unified_diff("Hello\nEUR 1,840\n", "Hello\nEUR 1,900\n")
    assert "--- draft (agent)" in diff and "+++ draft (final)" in diff
    assert "-EUR 1,840\n" in diff and "+EUR 1,900\n" in diff


def test_sampling_is_deterministic_per_draft_and_near_the_rate() -> None:
    """The same id always draws the same way; about 10 % of many ids are picked; 0 and 1 are exact."""
    ids = [f"drf_{i:032x}" for i in range(5000)]
    picked = [i for i in ids if sampled(i, 0.1)]
    assert picked == [i for i in ids if sampled(i, 0.1)]
    assert 400 < len(picked) < 600
    assert not any(sampled(i, 0) for i in ids[:100]) and all(sampled(i, 1) for i in ids[:100])
