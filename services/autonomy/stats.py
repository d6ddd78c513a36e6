"""Pure arithmetic for autonomy: how much an edit changed, the diff, the sampling draw, the significance test."""

from __future__ import annotations

import difflib
import hashlib
import math
from dataclasses import dataclass

# SequenceMatcher is quadratic in the worst case; beyond this many characters we compare line by line.
_CHAR_LIMIT = 20_000


def edit_distance(before: str, after: str) -> float:
    """0.0 when identical, 1.0 when nothing is shared: 1 - difflib's similarity ratio."""
    if before == after:
        return 0.0
    if len(before) + len(after) > _CHAR_LIMIT:
        matcher = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines(), autojunk=False)
    else:
        matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    return round(1.0 - matcher.ratio(), 4)


def unified_diff(before: str, after: str, *, name: str = "draft") -> str:
    lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                 fromfile=f"{name} (agent)", tofile=f"{name} (final)")
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def sampled(draft_id: str, rate: float) -> bool:
    """Whether an auto-approval is shown for a retrospective check: a stable draw from the draft id's hash,
    so a retry or another replica makes the same choice and a test can pick ids that fall either side."""
    if rate <= 0:
        return False
    if rate >= 1:
        return True
    draw = int(hashlib.sha256(draft_id.encode()).hexdigest()[:8], 16) / 0x1_0000_0000
    return draw < rate


@dataclass(frozen=True)
class Comparison:
    old_n: int
    old_ok: int
    new_n: int
    new_ok: int
    z: float
    p_value: float

    @property
    def old_rate(self) -> float:
        return self.old_ok / self.old_n if self.old_n else 0.0

    @property
    def new_rate(self) -> float:
        return self.new_ok / self.new_n if self.new_n else 0.0


def worse_than(*, old_ok: int, old_n: int, new_ok: int, new_n: int) -> Comparison:
    """One-sided two-proportion z-test (pooled) of "the new rate is lower than the old one".

    p is the chance of a drop at least this large if both versions were equally good; a tiny p means the drop
    is real rather than the noise of small samples.
    """
    if old_n == 0 or new_n == 0:
        return Comparison(old_n, old_ok, new_n, new_ok, 0.0, 1.0)
    pooled = (old_ok + new_ok) / (old_n + new_n)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / old_n + 1 / new_n))
    diff = old_ok / old_n - new_ok / new_n
    if spread == 0:  # both all-approved or both all-refused: no difference at all
        return Comparison(old_n, old_ok, new_n, new_ok, 0.0, 1.0)
    z = diff / spread
    p_value = 0.5 * math.erfc(z / math.sqrt(2))  # upper tail of the standard normal
    return Comparison(old_n, old_ok, new_n, new_ok, round(z, 4), p_value)
