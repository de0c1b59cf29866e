"""Home Assistant's MQTT discovery schema, written from its documentation, as strict as Home Assistant.

Sources: the MQTT integration's discovery page (topic format, abbreviations, the device and origin
maps) and the MQTT Binary sensor / MQTT Sensor pages (configuration variables), with the device classes,
state classes and units of the sensor and binary_sensor entity documentation.  Home Assistant rejects a
discovery payload with an unknown key, a bad device class, a unit its device class does not allow, or a
``state_topic`` that is missing; ``check`` raises for each of those.

``render`` evaluates a ``value_template`` the way Home Assistant does for an MQTT entity: a sandboxed
Jinja environment with ``value`` (the payload text) and ``value_json`` (the payload parsed as JSON).
"""

from __future__ import annotations

import json
import re

from jinja2.sandbox import ImmutableSandboxedEnvironment

TOPIC = re.compile(r"^(?P<component>\w+)/(?:(?P<node>[a-zA-Z0-9_-]+)/)?(?P<object>[a-zA-Z0-9_-]+)/config$")
"""What follows the discovery prefix (Home Assistant's own pattern)."""

ABBREVIATIONS = {
    "avty": "availability",
    "avty_mode": "availability_mode",
    "avty_t": "availability_topic",
    "avty_tpl": "availability_template",
    "dev": "device",
    "dev_cla": "device_class",
    "en": "enabled_by_default",
    "ent_cat": "entity_category",
    "exp_aft": "expire_after",
    "frc_upd": "force_update",
    "ic": "icon",
    "json_attr_t": "json_attributes_topic",
    "json_attr_tpl": "json_attributes_template",
    "o": "origin",
    "off_dly": "off_delay",
    "ops": "options",
    "pl_avail": "payload_available",
    "pl_not_avail": "payload_not_available",
    "pl_off": "payload_off",
    "pl_on": "payload_on",
    "stat_cla": "state_class",
    "stat_t": "state_topic",
    "t": "topic",
    "uniq_id": "unique_id",
    "unit_of_meas": "unit_of_measurement",
    "val_tpl": "value_template",
    "sug_dsp_prc": "suggested_display_precision",
}
DEVICE_ABBREVIATIONS = {
    "cu": "configuration_url",
    "cns": "connections",
    "ids": "identifiers",
    "name": "name",
    "mf": "manufacturer",
    "mdl": "model",
    "mdl_id": "model_id",
    "hw": "hw_version",
    "sw": "sw_version",
    "sa": "suggested_area",
    "sn": "serial_number",
    "via_device": "via_device",
}
ORIGIN_ABBREVIATIONS = {"name": "name", "sw": "sw_version", "url": "support_url"}

COMMON = {
    "availability",
    "availability_mode",
    "availability_template",
    "availability_topic",
    "device",
    "enabled_by_default",
    "encoding",
    "entity_category",
    "entity_picture",
    "expire_after",
    "force_update",
    "icon",
    "json_attributes_template",
    "json_attributes_topic",
    "name",
    "object_id",
    "default_entity_id",
    "origin",
    "payload_available",
    "payload_not_available",
    "platform",
    "qos",
    "state_topic",
    "unique_id",
    "value_template",
}
ALLOWED = {
    "binary_sensor": COMMON | {"device_class", "off_delay", "payload_off", "payload_on"},
    "sensor": COMMON
    | {
        "device_class",
        "last_reset_value_template",
        "options",
        "suggested_display_precision",
        "state_class",
        "unit_of_measurement",
    },
}
REQUIRED = {"binary_sensor": {"state_topic"}, "sensor": {"state_topic"}}

BINARY_SENSOR_CLASSES = {
    "battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door", "garage_door", "gas",
    "heat", "light", "lock", "moisture", "motion", "moving", "occupancy", "opening", "plug", "power",
    "presence", "problem", "running", "safety", "smoke", "sound", "tamper", "update", "vibration", "window",
}  # fmt: skip
SENSOR_UNITS = {
    "duration": {"d", "h", "min", "s", "ms", "µs"},
    "enum": set(),
    "timestamp": set(),
    "date": set(),
    "battery": {"%"},
    "humidity": {"%"},
    "temperature": {"°C", "°F", "K"},
}
"""The device classes we might use, with the units Home Assistant accepts for each (a subset of its list)."""
STATE_CLASSES = {"measurement", "measurement_angle", "total", "total_increasing"}
ENTITY_CATEGORIES = {"config", "diagnostic"}


class SchemaError(AssertionError):
    pass


def _expand(payload: dict, table: dict[str, str]) -> dict:
    return {table.get(k, k): v for k, v in payload.items()}


def _topic(value, key: str, wildcards: bool = False) -> None:
    if not isinstance(value, str) or not value:
        raise SchemaError(f"{key} must be a non-empty topic string")
    if not wildcards and ("+" in value or "#" in value):
        raise SchemaError(f"{key} {value!r} may not hold wildcards")


def check(topic: str, raw: bytes, prefix: str = "homeassistant") -> dict:
    """Validate one discovery message; returns the payload with abbreviations expanded."""
    m = TOPIC.match(topic.removeprefix(prefix + "/")) if topic.startswith(prefix + "/") else None
    if not m:
        raise SchemaError(f"{topic}: not <prefix>/<component>/[<node_id>/]<object_id>/config")
    component = m["component"]
    if component not in ALLOWED:
        raise SchemaError(f"{topic}: component {component!r} is not one we check")
    payload = json.loads(raw)
    if not isinstance(payload, dict):
        raise SchemaError(f"{topic}: payload must be a JSON object")
    cfg = _expand(payload, ABBREVIATIONS)
    unknown = set(cfg) - ALLOWED[component]
    if unknown:
        raise SchemaError(f"{topic}: keys {sorted(unknown)} are not options of MQTT {component}")
    missing = REQUIRED[component] - set(cfg)
    if missing:
        raise SchemaError(f"{topic}: missing required {sorted(missing)}")
    _topic(cfg["state_topic"], "state_topic")
    for key in ("name", "unique_id", "value_template", "icon"):
        if key in cfg and not isinstance(cfg[key], str):
            raise SchemaError(f"{topic}: {key} must be a string")
    if "icon" in cfg and not re.fullmatch(r"mdi:[a-z0-9-]+", cfg["icon"]):
        raise SchemaError(f"{topic}: icon {cfg['icon']!r} must look like mdi:name")
    if "qos" in cfg and cfg["qos"] not in (0, 1, 2):
        raise SchemaError(f"{topic}: qos must be 0, 1 or 2")
    if "value_template" in cfg:
        ImmutableSandboxedEnvironment().parse(cfg["value_template"])  # a syntax error raises
    _check_availability(topic, cfg)
    if "device" in cfg:
        if "unique_id" not in cfg:
            raise SchemaError(f"{topic}: a device block works only with unique_id")
        _check_device(topic, cfg["device"])
    if "origin" in cfg:
        origin = _expand(cfg["origin"], ORIGIN_ABBREVIATIONS)
        if set(origin) - {"name", "sw_version", "support_url"} or not isinstance(origin.get("name"), str):
            raise SchemaError(f"{topic}: origin needs a name and only name, sw_version, support_url")
    if cfg.get("entity_category") not in (None, *ENTITY_CATEGORIES):
        raise SchemaError(f"{topic}: entity_category must be config or diagnostic")
    if component == "binary_sensor":
        if cfg.get("device_class") not in (None, *BINARY_SENSOR_CLASSES):
            raise SchemaError(f"{topic}: binary_sensor device_class {cfg['device_class']!r} unknown")
    else:
        _check_sensor(topic, cfg)
    return cfg


def _check_availability(topic: str, cfg: dict) -> None:
    if "availability" in cfg and "availability_topic" in cfg:
        raise SchemaError(f"{topic}: availability and availability_topic must not be used together")
    if "availability" in cfg:
        if not isinstance(cfg["availability"], list) or not cfg["availability"]:
            raise SchemaError(f"{topic}: availability must be a non-empty list")
        for entry in cfg["availability"]:
            entry = _expand(entry, ABBREVIATIONS)
            if set(entry) - {"topic", "payload_available", "payload_not_available", "value_template"}:
                raise SchemaError(f"{topic}: availability entry has unknown keys {sorted(entry)}")
            _topic(entry.get("topic"), "availability topic")
    if cfg.get("availability_mode") not in (None, "all", "any", "latest"):
        raise SchemaError(f"{topic}: availability_mode must be all, any or latest")


def _check_device(topic: str, raw: dict) -> None:
    device = _expand(raw, DEVICE_ABBREVIATIONS)
    unknown = set(device) - set(DEVICE_ABBREVIATIONS.values())
    if unknown:
        raise SchemaError(f"{topic}: device keys {sorted(unknown)} unknown")
    ids, cns = device.get("identifiers"), device.get("connections")
    if not ids and not cns:
        raise SchemaError(f"{topic}: a device needs identifiers or connections")
    if ids is not None and not (
        isinstance(ids, str) or (isinstance(ids, list) and all(isinstance(i, str) and i for i in ids))
    ):
        raise SchemaError(f"{topic}: device identifiers must be a string or a list of strings")
    for key in ("name", "manufacturer", "model", "suggested_area", "via_device"):
        if key in device and not isinstance(device[key], str):
            raise SchemaError(f"{topic}: device {key} must be a string")


def _check_sensor(topic: str, cfg: dict) -> None:
    dc, unit, sc = cfg.get("device_class"), cfg.get("unit_of_measurement"), cfg.get("state_class")
    if sc is not None and sc not in STATE_CLASSES:
        raise SchemaError(f"{topic}: state_class {sc!r} unknown")
    if dc is not None:
        if dc not in SENSOR_UNITS:
            raise SchemaError(f"{topic}: sensor device_class {dc!r} not known to this check")
        if SENSOR_UNITS[dc] and unit not in SENSOR_UNITS[dc]:
            raise SchemaError(f"{topic}: unit {unit!r} is not one of {sorted(SENSOR_UNITS[dc])} for {dc}")
    if dc == "enum":
        if unit is not None or sc is not None:
            raise SchemaError(f"{topic}: an enum sensor has no unit_of_measurement and no state_class")
        opts = cfg.get("options")
        if not (isinstance(opts, list) and opts and all(isinstance(o, str) for o in opts)):
            raise SchemaError(f"{topic}: an enum sensor needs options, a list of strings")
    elif "options" in cfg:
        raise SchemaError(f"{topic}: options only with device_class enum")


def render(template: str, payload: bytes) -> str:
    """What Home Assistant makes of ``payload`` with ``template`` (``value`` and ``value_json``)."""
    text = payload.decode("utf-8")
    try:
        value_json = json.loads(text)
    except ValueError:
        value_json = None
    env = ImmutableSandboxedEnvironment()
    return env.from_string(template).render(value=text, value_json=value_json).strip()
