"""Judging again and again as samples arrive stays below α (a seeded A/A simulation)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from harness._verdicts import Verdict
from harness.canary._judge import JudgeConfig, compare_errors, compare_latency, compare_latency_tail
from harness.stats import count_bounds


def test_an_a_a_canary_judged_at_every_look_is_falsely_failed_less_than_alpha():
    rng = np.random.default_rng(20)
    cfg = JudgeConfig()
    stages, looks, per_look = 30, 5, 100  # canary 100 requests per look, baseline 5x
    failed = 0
    for _ in range(stages):
        b = rng.lognormal(2.7, 1.2, looks * per_look * 5)
        c = rng.lognormal(2.7, 1.2, looks * per_look)
        eb, ec = rng.random(len(b)) < 0.003, rng.random(len(c)) < 0.003
        for k in range(2, looks + 1):
            nb, nc = k * per_look * 5, k * per_look
            verdicts = [compare_latency(b[:nb], c[:nc], cfg).verdict, compare_latency_tail(b[:nb], c[:nc], cfg).verdict,
                        compare_errors(int(eb[:nb].sum()), nb, int(ec[:nc].sum()), nc, cfg).verdict]
            if Verdict.FAIL in verdicts:
                failed += 1
                break
    assert failed <= 3  # α = 0.03 for the three families: 1.2 expected at most


def test_the_same_peeking_with_a_fixed_sample_test_would_fail_healthy_canaries_far_more_often():
    """Why the sequences: a one-look 95 % rule applied at every look (the old judge's habit)."""
    rng = np.random.default_rng(21)
    looks, paths, q = np.arange(40, 1201, 40), 400, 0.95
    objective = float(np.exp(3 + 0.5 * 1.6448536269514722))  # the true p95 sits exactly on the objective
    x = rng.lognormal(3, 0.5, (paths, looks[-1]))
    over = np.cumsum(x >= objective, axis=1)[:, looks - 1]  # requests at or over the objective so far
    fixed = (stats.binom.sf(over - 1, looks, 1 - q) < 0.05).any(axis=1)  # "too many over the objective"
    s_lo, _ = count_bounds(looks, q, 0.05)
    sequential = np.zeros(paths, dtype=bool)
    for n, lo_k in zip(looks, s_lo, strict=True):
        if lo_k >= 1:  # FAIL: the sequence's lower bound X(s_lo) is already at or over the objective
            sequential |= np.partition(x[:, :n], lo_k - 1, axis=1)[:, lo_k - 1] >= objective
    assert sequential.mean() <= 0.05
    assert fixed.mean() > 2 * 0.05
