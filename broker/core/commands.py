"""What goes into the hub's core (events) and what comes out of it (commands).

The core is ``Dispatcher.handle(event) -> list[Command]``; the shell turns commands
into MQTT publishes and SQLite rows.  Keeping both as plain dataclasses means the
core is tested without a broker, a database or a real clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from broker.contract.protocol import CallMsg, CallRef, FeedbackMsg, PageMsg, StateMsg, WearMsg

# --- events into the core ---------------------------------------------------------


@dataclass(frozen=True)
class Pressed:
    device: str
    msg: CallMsg
    known_call: str | None = None
    """The call this press id already belongs to, when the shell found it in the event log (a press
    the broker replays long after, beyond what the core keeps in memory)."""


@dataclass(frozen=True)
class DeviceAction:
    device: str
    action: str  # cancel | greet | feedback
    msg: CallRef | FeedbackMsg


@dataclass(frozen=True)
class StaffAction:
    staff: str
    action: str  # ack | greet | resolve | decline
    msg: CallRef


@dataclass(frozen=True)
class PresenceChanged:
    staff: str
    status: str


@dataclass(frozen=True)
class DeviceStatus:
    device: str
    status: str  # online | offline


Event = Pressed | DeviceAction | StaffAction | PresenceChanged | DeviceStatus

# --- commands out of the core -----------------------------------------------------


@dataclass(frozen=True)
class Page:
    """Publish a page to one person (and its compact twin for wearables)."""

    staff: str
    msg: PageMsg
    wear: WearMsg


@dataclass(frozen=True)
class PublishState:
    """Publish ``state/{id}``; a closed call's final state is sent, then cleared."""

    call_id: str
    msg: StateMsg
    closed: bool = False


@dataclass(frozen=True)
class RecordCall:
    """Upsert one row of the ``calls`` table."""

    row: dict[str, Any]


@dataclass(frozen=True)
class RecordEvent:
    """Append one row to the ``events`` table (beyond the received messages)."""

    kind: str
    call_id: str | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class RecordPress:
    """Remember one repeat press id for good (one row of ``presses``): replays stay idempotent."""

    press_id: str
    call_id: str
    device: str


@dataclass(frozen=True)
class Reject:
    """A message the core refused; the shell records it in ``rejected``."""

    reason: str


@dataclass(frozen=True)
class SummaryChanged:
    """Today's figures changed: the store's (``summary``), and one colleague's (``shift/{staff}``).

    Only a mark: the shell asks the core for the figures at most once a second, so a
    busy day never puts an O(calls today) computation on the call->page path.
    """

    staff: str | None = None


Command = Page | PublishState | RecordCall | RecordEvent | RecordPress | Reject | SummaryChanged
