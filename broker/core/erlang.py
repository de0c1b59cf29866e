"""Erlang C: how many colleagues a stream of calls needs, as a first estimate.

A zone's hour is an M/M/N queue: calls arrive at random (Poisson, ``rate`` per hour), each keeps one
colleague busy for ``busy_s`` on average (acknowledge to resolve), and a call waits when all ``agents``
are busy.  Erlang C gives the chance a call waits and the share answered within ``t`` seconds.
It is a first estimate only: colleagues cover several zones, decline, and escalation pages
others; the replay (``broker.core.replay``) refines it through the real dispatcher.

Written here rather than taken from ``pyworkforce``: that package pulls in pandas, numpy and
joblib for three formulas, and the hub's core must run on a Pi with only the standard library.
Computed with the Erlang B recursion, which stays finite for hundreds of agents (the textbook
``A**N / N!`` overflows a float beyond N = 170).

Example (the classic example of 10 Erlangs: 100 calls in half an hour, 180 s each)::

    >>> round(wait_probability(11, 10.0), 4)
    0.6821
    >>> agents_needed(rate_per_h=200, busy_s=180, target_s=20, share=0.8)
    14
"""

from __future__ import annotations

import math

MAX_AGENTS = 500
"""``agents_needed`` never answers more than this (a zone's hour is not a contact centre)."""


def erlang_b(agents: int, traffic: float) -> float:
    """The chance all ``agents`` are busy in a loss system offered ``traffic`` Erlangs."""
    b = 1.0
    for k in range(1, agents + 1):
        b = traffic * b / (k + traffic * b)
    return b


def wait_probability(agents: int, traffic: float) -> float:
    """Erlang C: the chance a call finds every colleague busy (1.0 when the queue grows without end)."""
    if agents <= 0 or traffic >= agents:
        return 1.0
    if traffic <= 0:
        return 0.0
    b = erlang_b(agents, traffic)
    return agents * b / (agents - traffic * (1 - b))


def service_level(agents: int, rate_per_h: float, busy_s: float, target_s: float) -> float:
    """The share of calls a colleague takes within ``target_s`` (0.0 when ``agents`` cannot keep up)."""
    if rate_per_h <= 0:
        return 1.0
    traffic = rate_per_h * busy_s / 3600.0
    if agents <= traffic:
        return 0.0
    c = wait_probability(agents, traffic)
    return max(0.0, 1.0 - c * math.exp(-(agents - traffic) * max(0.0, target_s) / busy_s))


def mean_wait_s(agents: int, rate_per_h: float, busy_s: float) -> float:
    """Average wait for a colleague (ASA), infinite when ``agents`` cannot keep up."""
    traffic = rate_per_h * busy_s / 3600.0
    if agents <= traffic:
        return math.inf
    return wait_probability(agents, traffic) * busy_s / (agents - traffic)


def agents_needed(rate_per_h: float, busy_s: float, target_s: float, share: float) -> int:
    """The fewest colleagues that take ``share`` of calls within ``target_s`` (0 with no calls)."""
    if rate_per_h <= 0 or busy_s <= 0:
        return 0
    n = min(MAX_AGENTS, max(1, math.floor(rate_per_h * busy_s / 3600.0)))
    while n < MAX_AGENTS and service_level(n, rate_per_h, busy_s, target_s) < share:
        n += 1
    return n
