"""What a store sends the chain, and how the chain keeps it: one shared definition (part of the contract).

A store's hub publishes one ``CallRecord`` per closed call on ``chain/<store>/calls`` and a
``StoreStatus`` every ``STATUS_EVERY_S`` on ``chain/<store>/status`` (QoS 1; Mosquitto's
bridge carries them to the chain).  The chain's ingest writes call records to Parquet
files partitioned by store and month (``PARTITION``), and reports and the chain board read
them with DuckDB.  Every field is a plain value so a record is JSON on the wire and a
column in the files; a record carries the store's local date, weekday and hour because
only the store knows its time zone and DST rules.

Records are additive: a newer store may send fields an older ingest ignores (msgspec
drops unknown fields), and a field added here must have a default.

Example::

    >>> r = CallRecord(store="s1", region="north", call_id="c1", device="kiosk-1", zone="paint",
    ...                reason="help", status="resolved", opened_at="2026-12-03T10:00:00+00:00",
    ...                local_date="2026-12-03", local_weekday=3, local_hour=11, target_greet_s=60.0)
    >>> decode_call(encode(r)) == r
    True
    >>> partition_dir("s1", "2026-12-03")
    'store=s1/month=2026-12'
"""

from __future__ import annotations

import msgspec

CALLS_TOPIC = "chain/{store}/calls"
STATUS_TOPIC = "chain/{store}/status"
STATUS_EVERY_S = 30.0
"""A store's status is published this often; the chain board calls a store offline after 120 s without one."""
OFFLINE_AFTER_S = 120.0
PARTITION = "store={store}/month={month}"


class CallRecord(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One closed call as the chain sees it; ``call_id`` is unique per store, (store, call_id) chain-wide."""

    store: str
    region: str = ""
    call_id: str
    device: str
    zone: str
    reason: str = ""
    status: str
    """Closed status: resolved, unattended, cancelled, gave_up ... as in the store's ``calls`` table."""
    staff: str = ""
    """Who greeted (the store's staff id), empty when nobody did."""
    staff_name: str = ""
    opened_at: str
    """UTC ISO 8601, from the hub's clock."""
    local_date: str
    """The store's local date (YYYY-MM-DD) when the call opened."""
    local_weekday: int
    """0 = Monday, in the store's time zone."""
    local_hour: int
    time_to_ack_s: float | None = None
    time_to_greet_s: float | None = None
    time_to_close_s: float | None = None
    target_greet_s: float
    """The store's promise at the time (``[store] target_greet_s``): greeted within it counts as kept."""
    escalated: bool = False
    declines: int = 0
    repeat_presses: int = 0
    feedback_score: int | None = None
    outcome: str = ""
    eta_shown_s: float | None = None
    """The first ETA the customer was shown, when the store records it."""
    text: str = ""
    """The customer's free text: sent only with ``[chain] share_text = true``."""


class StoreStatus(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A store's state right now, for the chain board."""

    store: str
    region: str = ""
    name: str = ""
    at: str
    """UTC ISO 8601 on the hub's clock (informational: the board times 'offline' by its own clock)."""
    open_calls: int = 0
    longest_wait_s: float = 0.0
    devices_online: int = 0
    devices_total: int = 0
    calls_today: int = 0
    promise_share_today: float | None = None


_encoder = msgspec.json.Encoder()
_call_decoder = msgspec.json.Decoder(CallRecord)
_status_decoder = msgspec.json.Decoder(StoreStatus)


def encode(record: CallRecord | StoreStatus) -> bytes:
    return _encoder.encode(record)


def decode_call(data: bytes) -> CallRecord:
    """A call record from the wire; raises ``msgspec.ValidationError``/``DecodeError`` on anything else."""
    return _call_decoder.decode(data)


def decode_status(data: bytes) -> StoreStatus:
    return _status_decoder.decode(data)


def partition_dir(store: str, local_date: str) -> str:
    """The folder (relative to the chain's data root) that holds a store's calls of one month."""
    return PARTITION.format(store=store, month=local_date[:7])


PARQUET_COLUMNS: dict[str, str] = {
    "store": "string",
    "region": "string",
    "call_id": "string",
    "device": "string",
    "zone": "string",
    "reason": "string",
    "status": "string",
    "staff": "string",
    "staff_name": "string",
    "opened_at": "timestamp[us, tz=UTC]",
    "local_date": "date32",
    "local_weekday": "int8",
    "local_hour": "int8",
    "time_to_ack_s": "float64",
    "time_to_greet_s": "float64",
    "time_to_close_s": "float64",
    "target_greet_s": "float64",
    "escalated": "bool",
    "declines": "int16",
    "repeat_presses": "int16",
    "feedback_score": "int8",
    "outcome": "string",
    "eta_shown_s": "float64",
    "text": "string",
}
"""The Parquet files' columns (Arrow type names), in order; ``store`` and month are also the partition keys."""
