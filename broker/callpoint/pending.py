"""The resend policy of every device, and a pure queue of actions kept until the hub confirms them.

Two kinds of device keep what they send: the call points (kiosks, buttons, QR pages), whose
``CallPoint`` keeps its rows in ``outbox.Outbox`` and resends on a timer, and the staff pager,
whose pure core keeps its colleague's actions in a ``PendingActions`` queue (time passed in,
no I/O) and writes them to an injected journal (``outbox.ActionStore`` on disk).  Both resend
after ``RESEND_AFTER_S``; only the pager gives up, after ``GIVE_UP_AFTER_S``.

What confirms an action is the device's own rule: a subclass says it in ``confirmed`` (by the
hub's state) and ``CONFIRMED_BY_BROKER`` (by the broker's PUBACK).

Example:

>>> class Echo(PendingActions):
...     def confirmed(self, item, state):
...         return state.status == "acknowledged"
>>> box = Echo()
>>> item = box.add("ack", "c1", {"id": "c1"}, now=0.0)
>>> [i.action for i in box.to_send(now=0.0)]
['ack']
>>> box.mark_sent(item.seq, now=0.0)
>>> box.to_send(now=1.0), len(box.to_send(now=RESEND_AFTER_S))
([], 1)
>>> box.to_send(now=GIVE_UP_AFTER_S + 1), len(box)
([], 0)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Protocol

from broker.contract.protocol import StateMsg

RESEND_AFTER_S = 10.0
"""Unconfirmed while connected for this long: send again (the broker may have lost it)."""
GIVE_UP_AFTER_S = 600.0
"""A pager action the hub never confirms (an unknown call, a rejected ack) is dropped after this.

Call points never give up: a customer's call stays until the hub answers it, open or closed."""


@dataclass
class Pending:
    """One action on its way to the hub."""

    seq: int
    action: str
    call_id: str
    body: dict[str, Any]
    created: float
    sent_at: float | None = None
    sends: int = 0


class OutboxJournal(Protocol):
    """Where a queue writes its entries down so they survive a restart (``outbox.ActionStore``)."""

    def added(self, item: Pending) -> None: ...

    def removed(self, seq: int) -> None: ...


class PendingActions(ABC):
    """Actions kept until confirmed, resent after ``RESEND_AFTER_S``, dropped after ``GIVE_UP_AFTER_S``.

    A ``journal`` (optional) is told of every entry added and removed, so the entries can
    outlive the process; ``restore`` puts them back after a restart.  Times are the caller's
    monotonic seconds (``now``).
    """

    CONFIRMED_BY_BROKER: frozenset[str] = frozenset()
    """Actions the hub publishes no state for: the broker's PUBACK confirms them (``confirm_seq``)."""

    def __init__(self, journal: OutboxJournal | None = None) -> None:
        self.items: dict[int, Pending] = {}
        self.journal = journal
        self._seq = 0

    @abstractmethod
    def confirmed(self, item: Pending, state: StateMsg) -> bool:
        """Whether the hub's ``state`` of the item's call shows it has the item (each device's own rule)."""

    def restore(self, items: list[Pending]) -> None:
        """Entries written down by an earlier run: unsent as far as this run knows, so they go at once."""
        for item in items:
            item.sent_at = None
            self.items[item.seq] = item
            self._seq = max(self._seq, item.seq)

    def add(self, action: str, call_id: str, body: dict[str, Any], now: float) -> Pending:
        self._seq += 1
        item = Pending(self._seq, action, call_id, body, now)
        self.items[item.seq] = item
        if self.journal is not None:
            self.journal.added(item)
        return item

    def _drop(self, seq: int) -> None:
        if self.items.pop(seq, None) is not None and self.journal is not None:
            self.journal.removed(seq)

    def to_send(self, now: float) -> list[Pending]:
        """Never sent, or sent more than RESEND_AFTER_S ago without confirmation; drops the hopeless."""
        for seq in [s for s, i in self.items.items() if now - i.created > GIVE_UP_AFTER_S]:
            self._drop(seq)
        return [i for i in self.items.values() if i.sent_at is None or now - i.sent_at >= RESEND_AFTER_S]

    def mark_sent(self, seq: int, now: float) -> None:
        item = self.items.get(seq)
        if item is not None:
            item.sent_at = now
            item.sends += 1

    def reconnected(self) -> None:
        """After a reconnect everything unconfirmed goes again at once."""
        for item in self.items.values():
            item.sent_at = None

    def confirm_seq(self, seq: int) -> None:
        """The broker acknowledged the publish: confirms only the actions in ``CONFIRMED_BY_BROKER``."""
        item = self.items.get(seq)
        if item is not None and item.action in self.CONFIRMED_BY_BROKER:
            self._drop(seq)

    def on_state(self, state: StateMsg) -> None:
        for seq, item in list(self.items.items()):
            if item.call_id == state.id and self.confirmed(item, state):
                self._drop(seq)

    def on_closed(self, call_id: str) -> None:
        """A closed call makes every action on it moot."""
        for seq in [s for s, i in self.items.items() if i.call_id == call_id]:
            self._drop(seq)

    def pending(self, call_id: str) -> set[str]:
        return {i.action for i in self.items.values() if i.call_id == call_id}

    def __len__(self) -> int:
        return len(self.items)
