"""What Home Assistant is told: the discovery messages of a store, a pure function of its config.

Home Assistant's MQTT discovery reads retained ``{prefix}/{component}/{node_id}/{object_id}/config``
messages.  Each call point becomes a device with a "call open" binary sensor and a "waiting" sensor;
the store is a device with its open calls, longest wait and today's share greeted within the target;
each colleague's presence is an enum sensor of the store.  Where the protocol already has a retained
topic (``summary``, ``staff/{id}/presence``, ``hub/status``) Home Assistant reads it directly; only what
the protocol does not say per call point is published by us, under ``staffcall/{store}/ha/``.

Ids are turned into topic levels and unique ids by ``slug``, which is one-to-one, so a device renamed
in no way collides with another and the unique ids stay the same across restarts.

Example::

    >>> slug("kiosk-1"), slug("a.b:c_d")
    ('kiosk_2d1', 'a_2eb_3ac_5fd')
"""

from __future__ import annotations

import json
from typing import Any

from broker.contract.config import Config
from broker.contract.i18n import Catalog
from broker.contract.protocol import PRESENCE, Topics

PRESENCE_KEYS = {status: f"ha_{status}" for status in PRESENCE}


def slug(value: str) -> str:
    """An id as a discovery topic level (``[A-Za-z0-9_]``): every other character becomes ``_`` + hex.

    One-to-one (an ``_`` in the result always starts an escape), so two ids never share a slug.
    """
    return "".join(c if c.isascii() and c.isalnum() else f"_{ord(c):02x}" for c in value)


def device_state_topic(store: str, device: str) -> str:
    """Our retained ``{"open", "waiting_s", "status", "calls"}`` of one call point."""
    return f"{Topics(store).root}/ha/device/{device}"


def store_state_topic(store: str) -> str:
    """Our retained ``{"longest_wait_s", "waiting"}`` of the whole store."""
    return f"{Topics(store).root}/ha/store"


def state_topics(cfg: Config) -> list[str]:
    """Every retained state topic we own for this config."""
    return [store_state_topic(cfg.store.id)] + [device_state_topic(cfg.store.id, d.id) for d in cfg.devices]


def discovery(cfg: Config, catalog: Catalog) -> dict[str, bytes]:
    """Discovery topic -> retained config payload, for every entity this config has.

    >>> from broker.contract.config import parse_config
    >>> from pathlib import Path
    >>> cfg = parse_config('[store]\\nid = "s1"\\nname = "S"\\n'
    ...                    '[[devices]]\\nid = "k1"\\nkind = "kiosk"\\nzone = "z"\\n')
    >>> sorted(discovery(cfg, Catalog(Path(__file__).parent / "locales", "en")))[0]
    'homeassistant/binary_sensor/staffcall_s1/device-k1-call_open/config'
    """
    store, t = cfg.store.id, Topics(cfg.store.id)
    prefix = cfg.homeassistant.discovery_prefix
    node = f"staffcall_{slug(store)}"
    store_ids = [f"staffcall-{slug(store)}"]
    common: dict[str, Any] = {
        "availability": [{"topic": t.hub_status(), "payload_available": "online", "payload_not_available": "offline"}],
        "qos": 1,
        "origin": {"name": "staffcall"},
    }
    out: dict[str, bytes] = {}

    def add(component: str, object_id: str, name: str, device: dict[str, Any], **fields: Any) -> None:
        payload = {
            "name": name,
            "unique_id": f"{node}-{object_id}",
            "device": device,
            **common,
            **fields,
        }
        out[f"{prefix}/{component}/{node}/{object_id}/config"] = json.dumps(payload, ensure_ascii=False).encode()

    store_device = {
        "identifiers": store_ids,
        "name": cfg.store.name,
        "manufacturer": catalog.t("ha_manufacturer"),
        "model": catalog.t("ha_store_model"),
    }
    for d in cfg.devices:
        device = {
            "identifiers": [f"staffcall-{slug(store)}-{slug(d.id)}"],
            "name": d.label or d.id,
            "manufacturer": catalog.t("ha_manufacturer"),
            "model": catalog.t(f"ha_model_{d.kind}"),
            "suggested_area": cfg.zone_name(d.zone, cfg.store.language),
            "via_device": store_ids[0],
        }
        state = device_state_topic(store, d.id)
        oid = f"device-{slug(d.id)}"
        add(
            "binary_sensor",
            f"{oid}-call_open",
            catalog.t("ha_call_open"),
            device,
            state_topic=state,
            value_template="{{ 'ON' if value_json.open else 'OFF' }}",
            icon="mdi:bell-ring",
        )
        add(
            "sensor",
            f"{oid}-waiting",
            catalog.t("ha_waiting"),
            device,
            state_topic=state,
            value_template="{{ value_json.waiting_s }}",
            device_class="duration",
            unit_of_measurement="s",
            state_class="measurement",
        )
    add(
        "sensor",
        "store-open_calls",
        catalog.t("ha_open_calls"),
        store_device,
        state_topic=t.summary(),
        value_template="{{ value_json.open }}",
        state_class="measurement",
        icon="mdi:bell-ring",
    )
    add(
        "sensor",
        "store-longest_wait",
        catalog.t("ha_longest_wait"),
        store_device,
        state_topic=store_state_topic(store),
        value_template="{{ value_json.longest_wait_s }}",
        device_class="duration",
        unit_of_measurement="s",
        state_class="measurement",
    )
    add(
        "sensor",
        "store-promise_share",
        catalog.t("ha_promise_share"),
        store_device,
        state_topic=t.summary(),
        # "None" is Home Assistant's word for unknown: no greeting yet today is no share, not 0 %.
        value_template="{{ (100 * value_json.greeted_within_target / value_json.greeted) | round(1) "
        "if value_json.greeted else None }}",
        unit_of_measurement="%",
        state_class="measurement",
        icon="mdi:timer-check",
    )
    shown = {status: catalog.t(key) for status, key in PRESENCE_KEYS.items()}
    for s in cfg.staff:
        add(
            "sensor",
            f"staff-{slug(s.id)}-presence",
            catalog.t("ha_presence", name=s.name),
            store_device,
            state_topic=t.presence(s.id),
            value_template="{{ " + json.dumps(shown, ensure_ascii=False) + ".get(value_json.status) }}",
            device_class="enum",
            options=list(shown.values()),
            icon="mdi:account-clock",
        )
    return out
