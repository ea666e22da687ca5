"""Request complexity scoring: send easy prompts to cheap models (the review's cost lever)."""

from __future__ import annotations

import re

__all__ = ["score_complexity", "tier_for", "HEAVY_WORDS"]

HEAVY_WORDS = frozenset({
    "analyze", "analyse", "compare", "explain", "prove", "derive", "design", "optimize",
    "refactor", "architecture", "evaluate", "summarize", "translate", "code", "algorithm",
})
_WORD = re.compile(r"[a-z0-9']+")


def score_complexity(prompt: str, max_tokens: int | None = None) -> float:
    """A score in [0, 1]: longer prompts, heavy verbs, questions and big outputs score higher."""
    words = _WORD.findall(prompt.lower())
    length = min(len(words) / 200, 1.0)
    heavy = min(sum(w in HEAVY_WORDS for w in words) / 3, 1.0)
    questions = min(prompt.count("?") / 3, 1.0)
    output = min((max_tokens or 0) / 2000, 1.0)
    return round(0.45 * length + 0.35 * heavy + 0.05 * questions + 0.15 * output, 4)


def tier_for(score: float) -> str:
    """small below 0.2, medium below 0.5, large otherwise."""
    if score < 0.2:
        return "small"
    if score < 0.5:
        return "medium"
    return "large"
