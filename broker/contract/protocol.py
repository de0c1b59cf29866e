"""The staffcall wire protocol: MQTT topics and JSON payloads, in one place.

This module is the public contract (documented in ``docs/protocol.md``); wearables,
Node-RED or Home Assistant may speak it, so change it only compatibly: add optional
fields, never rename or remove one.

Every topic lives under ``staffcall/{store}/``.  All messages are UTF-8 JSON sent with
QoS 1, using MQTT 3.1.1 features only.

Payloads are validated with msgspec: it decodes and type-checks in one pass in C, a
few microseconds per message, which keeps validation off the call->page latency
budget, and it reports errors that name the offending field.

Example::

    >>> t = Topics("s1")
    >>> t.call("kiosk-1")
    'staffcall/s1/call/kiosk-1'
    >>> parse_topic("s1", "staffcall/s1/staff/anna/ack")
    Inbound(kind='staff_action', device=None, staff='anna', action='ack')
    >>> decode(CallMsg, b'{"id": "k1-0001", "reason": "fitting"}').reason
    'fitting'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import msgspec

PREFIX = "staffcall"
QOS = 1
MAX_PAYLOAD_BYTES = 4096
"""Anything larger is rejected unread: no legitimate message comes near it."""

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
"""Call, device, staff and store ids: 1-64 characters, safe in topics and file names."""
_ID_RE = re.compile(ID_PATTERN[1:-1])
"""Always used with ``fullmatch``: ``$`` alone would let a trailing newline through, and a topic
``state/abc\n`` makes Mosquitto drop the hub for a malformed packet."""

STATUSES = ("waiting", "acknowledged", "greeted", "resolved", "cancelled", "unattended")
OPEN_STATUSES = frozenset({"waiting", "acknowledged", "greeted"})
CLOSED_STATUSES = frozenset({"resolved", "cancelled", "unattended"})
PRESENCE = ("on_shift", "break", "off", "offline")
STAFF_ACTIONS = ("ack", "greet", "resolve", "decline")
DEVICE_ACTIONS = ("cancel", "greet", "feedback")
ONLINE = "online"
OFFLINE = "offline"

Id = msgspec.Meta(pattern=ID_PATTERN[:-1] + r"\Z")
ShortText = msgspec.Meta(max_length=200)


class ProtocolError(ValueError):
    """An inbound message that breaks the contract; the text says what and why."""


# --- inbound payloads (devices and pagers -> hub) ---------------------------------


class CallMsg(msgspec.Struct, forbid_unknown_fields=False):
    """``call/{device}``: a customer asks for help.  The device makes the id."""

    id: str
    reason: str | None = None
    lang: str | None = None
    at: str | None = None
    """The device's own press time (ISO-8601); informational, durations use the hub clock."""
    text: str | None = None
    """Optional free text from the customer (QR pages), shown to staff as plain text."""


class CallRef(msgspec.Struct, forbid_unknown_fields=False):
    """``call/{device}/cancel`` and ``staff/{staff}/{ack,greet,resolve,decline}``."""

    id: str
    staff: str | None = None
    """On ``call/{device}/greet``: who greeted, when the device knows it."""
    reason: str | None = None
    """On ``decline``: why (for instance a pager gateway's "transmitter timeout")."""
    outcome: str | None = None
    """On ``resolve``: an optional outcome from config ("helped", "sale", ...)."""


class FeedbackMsg(msgspec.Struct, forbid_unknown_fields=False):
    """``call/{device}/feedback``: one face, 1 (very unhappy) to 4 (very happy)."""

    id: str
    score: int


class PresenceMsg(msgspec.Struct, forbid_unknown_fields=False):
    """``staff/{staff}/presence`` (retained; the pager's Will says ``offline``)."""

    status: Literal["on_shift", "break", "off", "offline"]


# --- outbound payloads (hub -> pagers, devices, dashboards) -----------------------


class PageMsg(msgspec.Struct):
    """``page/{staff}``: one person is asked to go to a customer."""

    id: str
    device: str
    zone: str
    reason: str | None
    tier: int
    opened_at: str
    text: str
    kind: str = "call"
    """call | next | escalation | repage | repeat | unattended."""
    label: str | None = None
    urgency: int = 1
    """1 plus the customer's repeat presses."""
    customer_text: str | None = None


class StateMsg(msgspec.Struct, kw_only=True):
    """``state/{id}``: everything a kiosk, pager or board shows about one call.

    Only the fields without a default must be sent; the others are optional and a missing
    one means "not known" (docs/protocol.md), so a state from a simpler hub (Node-RED,
    an older version) still shows.  ``kw_only`` keeps the documented field order on the
    wire while letting required fields follow optional ones.
    """

    id: str
    device: str
    zone: str
    reason: str | None = None
    status: str
    tier: int
    staff: str | None = None
    staff_name: str | None = None
    staff_role: str | None = None
    eta_s: int | None = None
    opened_at: str
    updated_at: str
    waited_s: int = 0
    """Seconds since the call opened, on the hub's clock, at ``updated_at``."""
    repeat_presses: int = 0
    nobody_on_shift: bool = False
    label: str | None = None


class WearMsg(msgspec.Struct):
    """``wear/{staff}``: a compact page for microcontroller wearables."""

    id: str
    text: str
    """At most 32 characters."""
    vibrate: list[int]
    """Alternating on/off milliseconds."""


# --- topics --------------------------------------------------------------------------


class Topics:
    """Builds the topic strings of one store."""

    def __init__(self, store: str) -> None:
        self.store = store
        self.root = f"{PREFIX}/{store}"

    def call(self, device: str) -> str:
        return f"{self.root}/call/{device}"

    def call_action(self, device: str, action: str) -> str:
        return f"{self.root}/call/{device}/{action}"

    def presence(self, staff: str) -> str:
        return f"{self.root}/staff/{staff}/presence"

    def staff_action(self, staff: str, action: str) -> str:
        return f"{self.root}/staff/{staff}/{action}"

    def page(self, staff: str) -> str:
        return f"{self.root}/page/{staff}"

    def wear(self, staff: str) -> str:
        return f"{self.root}/wear/{staff}"

    def state(self, call_id: str) -> str:
        return f"{self.root}/state/{call_id}"

    def device_status(self, device: str) -> str:
        return f"{self.root}/device/{device}/status"

    def hub_status(self) -> str:
        return f"{self.root}/hub/status"

    def hub_health(self) -> str:
        """Retained JSON: is the hub's event log being written (``ok``, ``warning``, ``fault``)."""
        return f"{self.root}/hub/health"

    def integrations_status(self) -> str:
        """Retained JSON from ``staffcall integrations``: e.g. ``{"webhooks": {"backlog": {receiver: n}}}``."""
        return f"{self.root}/integrations/status"

    def summary(self) -> str:
        return f"{self.root}/summary"

    def shift(self, staff: str) -> str:
        return f"{self.root}/shift/{staff}"

    def hub_subscriptions(self) -> list[str]:
        """What the hub listens to: everything devices and pagers send."""
        return [
            f"{self.root}/call/+",
            f"{self.root}/call/+/+",
            f"{self.root}/staff/+/+",
            f"{self.root}/device/+/status",
        ]


@dataclass(frozen=True)
class Inbound:
    """What an inbound topic names."""

    kind: Literal["call", "device_action", "presence", "staff_action", "device_status"]
    device: str | None = None
    staff: str | None = None
    action: str | None = None


def parse_topic(store: str, topic: str) -> Inbound:
    """Classify an inbound topic, or raise ProtocolError saying why it is not one."""
    parts = topic.split("/")
    if len(parts) < 4 or parts[0] != PREFIX or parts[1] != store:
        raise ProtocolError(f"topic {topic!r} is not under {PREFIX}/{store}/")
    kind, rest = parts[2], parts[3:]
    if not all(_ID_RE.fullmatch(p) for p in rest[:1]):
        raise ProtocolError(f"topic {topic!r}: {rest[0]!r} is not a valid id")
    if kind == "call" and len(rest) == 1:
        return Inbound("call", device=rest[0])
    if kind == "call" and len(rest) == 2 and rest[1] in DEVICE_ACTIONS:
        return Inbound("device_action", device=rest[0], action=rest[1])
    if kind == "staff" and len(rest) == 2 and rest[1] == "presence":
        return Inbound("presence", staff=rest[0])
    if kind == "staff" and len(rest) == 2 and rest[1] in STAFF_ACTIONS:
        return Inbound("staff_action", staff=rest[0], action=rest[1])
    if kind == "device" and len(rest) == 2 and rest[1] == "status":
        return Inbound("device_status", device=rest[0])
    raise ProtocolError(f"topic {topic!r} is not part of the protocol")


# --- encode / decode ---------------------------------------------------------------

T = TypeVar("T")
_encoder = msgspec.json.Encoder()
_decoders: dict[type, msgspec.json.Decoder[Any]] = {}


def encode(msg: msgspec.Struct | dict[str, Any]) -> bytes:
    """Encode a payload as compact UTF-8 JSON."""
    return _encoder.encode(msg)


def decode(kind: type[T], payload: bytes) -> T:
    """Decode and validate one inbound payload, or raise ProtocolError naming the fault."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ProtocolError(f"payload is {len(payload)} bytes, more than {MAX_PAYLOAD_BYTES}")
    decoder = _decoders.get(kind)
    if decoder is None:
        decoder = _decoders[kind] = msgspec.json.Decoder(kind)
    try:
        # The whole payload must be UTF-8, also inside fields msgspec skips unread: what a Latin-1
        # microcontroller sends is refused here, not halfway into the log.
        payload.decode("utf-8")
        msg = decoder.decode(payload)
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"payload is not UTF-8 (byte {exc.start})") from None
    except msgspec.ValidationError as exc:
        raise ProtocolError(f"invalid payload: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ProtocolError(f"malformed JSON: {exc}") from None
    except RecursionError:
        raise ProtocolError("JSON nested too deeply") from None
    except Exception as exc:  # whatever else a hostile payload can provoke is a bad message, not a crash
        raise ProtocolError(f"undecodable payload: {type(exc).__name__}") from None
    _check_fields(msg)
    return msg


def _check_fields(msg: Any) -> None:
    call_id = getattr(msg, "id", None)
    if call_id is not None and not _ID_RE.fullmatch(call_id):
        raise ProtocolError(f"invalid call id {call_id[:70]!r}: use 1-64 of A-Z a-z 0-9 . _ : -")
    for name in ("reason", "lang", "at", "staff", "outcome"):
        value = getattr(msg, name, None)
        if value is not None and (len(value) > 64 or not value.isprintable()):
            raise ProtocolError(f"field {name!r} must be at most 64 printable characters")
    text = getattr(msg, "text", None)
    if text is not None and (len(text) > 200 or not text.replace("\n", " ").isprintable()):
        raise ProtocolError("field 'text' must be at most 200 printable characters")
    if isinstance(msg, FeedbackMsg) and not 1 <= msg.score <= 4:
        raise ProtocolError(f"feedback score must be 1..4, got {msg.score}")


def decode_device_status(payload: bytes) -> str:
    """``device/{device}/status`` carries the bare word ``online`` or ``offline``."""
    try:
        word = payload.decode("utf-8").strip().strip('"')
    except UnicodeDecodeError:
        raise ProtocolError("device status is not UTF-8") from None
    if word not in (ONLINE, OFFLINE):
        raise ProtocolError(f"device status must be 'online' or 'offline', got {word[:40]!r}")
    return word


def valid_id(value: str) -> bool:
    return isinstance(value, str) and _ID_RE.fullmatch(value) is not None
