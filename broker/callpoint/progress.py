"""What the customer is told about their call: a pure function of the hub's state and a clock.

No Kivy and no I/O here, so every sentence the waiting screen can show is tested in
microseconds with a fake clock (``tests/broker/callpoint/test_progress.py``).

The estimate is anchored to the kiosk's *monotonic* clock at the moment a state
arrives (``eta_s`` counts from then), never to the hub's wall-clock ``updated_at``:
the two machines' clocks may disagree, and a customer must not see a wrong countdown.

Example::

    >>> from broker.contract.protocol import StateMsg
    >>> s = StateMsg(id="c1", device="kiosk-1", zone="z", reason=None, status="acknowledged", tier=1,
    ...     staff="anna", staff_name="Anna", staff_role="Substitute", eta_s=50, opened_at="", updated_at="")
    >>> p = CallProgress("c1", pressed_mono=0.0)
    >>> p.update(s, now=10.0)
    >>> en = {"sent": "Sent", "waited": "{m}:{s:02d}", "on_way": "{who} is on the way",
    ...     "name_role": "{name} ({role})", "eta_minute": "about 1 minute"}
    >>> view = describe(p, now=10.0, connected=True, t=lambda key, **v: en[key].format(**v))
    >>> view.who, view.eta
    ('Anna (Substitute) is on the way', 'about 1 minute')
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from broker.contract.protocol import StateMsg

Translate = Callable[..., str]

SCREEN_FOR_STATUS = {
    "waiting": "waiting",
    "acknowledged": "waiting",
    "greeted": "greeted",
    "resolved": "feedback",
    "cancelled": "cancelled",
    "unattended": "unattended",
}
"""Which screen a call's status leads to (``cancelled``/``unattended`` are message screens)."""


@dataclass
class CallProgress:
    """The kiosk's one call in progress and the last state the hub sent for it."""

    call_id: str
    pressed_mono: float
    state: StateMsg | None = None
    received_mono: float | None = None

    def update(self, state: StateMsg, now: float) -> None:
        self.state = state
        self.received_mono = now
        # The moment the wait began, on this kiosk's clock: the earliest that any evidence allows.  A state
        # can count less than the kiosk has (the call was pressed offline and reached the hub later, or it
        # was delayed in flight), and a customer's waiting time must never go backwards.
        self.pressed_mono = min(self.pressed_mono, now - state.waited_s)

    def waited_s(self, now: float) -> float:
        """Seconds waited: the larger of the time since the press and the hub's count aged on this clock.

        Never decreases as ``now`` grows, whatever states arrive (``update`` only moves the start earlier).
        """
        return max(0.0, now - self.pressed_mono)

    def remaining_s(self, now: float) -> float | None:
        """Seconds until the expected greeting, negative when overdue; None without an estimate."""
        if self.state is None or self.state.eta_s is None or self.received_mono is None:
            return None
        return self.state.eta_s - (now - self.received_mono)

    @property
    def screen(self) -> str:
        return SCREEN_FOR_STATUS.get(self.state.status, "waiting") if self.state else "waiting"


@dataclass(frozen=True)
class WaitingView:
    """The lines of the waiting screen, already translated."""

    headline: str
    who: str
    eta: str
    note: str
    elapsed: str
    overdue: bool = False


def person(state: StateMsg | None, t: Translate) -> str | None:
    """``Anna (Summer substitute)``, ``Anna``, or None when nobody is named."""
    if state is None or not state.staff_name:
        return None
    if state.staff_role:
        return t("name_role", name=state.staff_name, role=state.staff_role)
    return state.staff_name


ETA_WORDS = ((20, "eta_soon"), (90, "eta_minute"), (300, "eta_minutes"), (600, "eta_few"))
"""Seconds left up to which each phrase is said; beyond the last, "more than 10 minutes"."""


def eta_text(remaining: float, t: Translate) -> str:
    """The time left in the few words a customer reads at a glance, never a range of seconds.

    The hub's estimate is built to be kept (``broker/core/eta.py``), so the words round to the
    nearest minute rather than up: under 20 s "any moment now", up to 1.5 minutes "about 1
    minute", then "about n minutes" up to 5, "a few minutes" up to 10, then "more than 10 minutes".
    """
    for upto, key in ETA_WORDS:
        if remaining < upto or (remaining == upto and key != "eta_soon"):
            if key == "eta_minutes":
                return t(key, n=max(2, math.floor(remaining / 60 + 0.5)))
            return t(key)
    return t("eta_long", n=10)


def describe(progress: CallProgress, now: float, connected: bool, t: Translate, nobody_text: str = "") -> WaitingView:
    """Everything the waiting screen says at ``now``; honest when late, offline or unstaffed."""
    state = progress.state
    waited = int(progress.waited_s(now))
    elapsed = t("waited", m=waited // 60, s=waited % 60)
    delivered = state is not None
    headline = t("sent") if delivered or connected else t("saved")
    if not connected:
        # Offline: whatever we knew may be stale; say what the customer can do instead.
        return WaitingView(headline, person(state, t) or "", "", t("reconnecting"), elapsed)
    if state is None:
        return WaitingView(headline, t("finding"), "", "", elapsed)
    if state.nobody_on_shift:
        return WaitingView(headline, "", "", nobody_text or t("nobody_on_shift"), elapsed)
    who_name = person(state, t)
    if who_name and state.status == "acknowledged":
        who = t("on_way", who=who_name)
    elif who_name:
        who = t("asked", who=who_name)
    else:
        who = t("finding")
    remaining = progress.remaining_s(now)
    overdue = remaining is not None and remaining <= 0
    eta = "" if remaining is None or overdue else eta_text(remaining, t)
    note = ""
    if state.tier >= 3:
        note = t("everyone_alerted")
    elif state.tier == 2:
        note = t("colleague_alerted")
    if overdue:
        note = f"{t('overdue')} {note}".strip()
    return WaitingView(headline, who, eta, note, elapsed, overdue)
