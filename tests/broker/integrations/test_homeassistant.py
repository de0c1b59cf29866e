"""Home Assistant discovery: payloads valid for Home Assistant, states driven by a real call, removal."""

from __future__ import annotations

import getpass
import json
import time
from pathlib import Path

import pytest

from broker.callpoint.callpoint import CallPoint
from broker.contract.config import ConfigError, load_config, parse_config
from broker.contract.i18n import Catalog
from broker.hub.shell import Hub
from broker.integrations.cli import enabled
from broker.integrations.homeassistant import LOCALES, HomeAssistant, load_published
from broker.integrations.homeassistant.entities import discovery, slug
from broker.integrations.homeassistant.states import CallPointStates
from broker.integrations.host import IntegrationHost
from broker.mosquitto.setup import render_acl, start_store_broker
from tests.broker.integrations.ha_discovery_schema import SchemaError, check, render
from tests.conftest import STORE_TOML
from tests.security.conftest import SecureStore, peer, write_secure_config

HA = "\n[homeassistant]\nenabled = true\n{extra}\n"


def config(extra: str = "state_every_s = 1", language: str = "en"):
    text = STORE_TOML.format(port=1883, db=":memory:", ack=30, esc=90, greet=120, unatt=600)
    text = text.replace("target_greet_s = 60", f'target_greet_s = 60\nlanguage = "{language}"')
    return parse_config(text + HA.format(extra=extra))


def start_store(folder: Path, extra: str = "state_every_s = 1") -> SecureStore:
    path = write_secure_config(folder, tls=False)
    path.write_text(path.read_text() + HA.format(extra=extra))
    cfg = load_config(path)
    _, broker = start_store_broker(cfg, folder / "broker", log_file=folder / "mosquitto.log", run_as=getpass.getuser())
    return SecureStore(cfg, broker, folder)


def wait(pred, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def last(ha, topic: str) -> bytes | None:
    found = [m for t, m in list(ha.messages) if t == topic]
    return found[-1] if found else None


# --- the discovery payloads, as Home Assistant reads them --------------------------------------------


def test_every_discovery_payload_passes_home_assistants_schema():
    cfg = config()
    configs = discovery(cfg, Catalog(LOCALES, "en"))
    for topic, payload in configs.items():
        check(topic, payload)
    unique = [json.loads(v)["unique_id"] for v in configs.values()]
    assert len(unique) == len(set(unique)) == 3 * 2 + 3 + 4  # 3 call points x 2, the store's 3, 4 colleagues
    assert all(t.startswith("homeassistant/") for t in configs)


def test_the_schema_check_is_as_strict_as_home_assistant():
    topic = "homeassistant/sensor/n/o/config"
    good = {"state_topic": "a/b", "unique_id": "u", "device": {"identifiers": ["d"]}}
    check(topic, json.dumps(good).encode())
    for bad in (
        {"unique_id": "u"},  # no state_topic
        {**good, "device": {"name": "x"}},  # a device without identifiers
        {**good, "device_class": "duration", "unit_of_measurement": "seconds"},
        {**good, "device_class": "enum", "options": ["a"], "state_class": "measurement"},
        {**good, "colour": "red"},
        {**good, "state_topic": "a/+"},
    ):
        with pytest.raises(SchemaError):
            check(topic, json.dumps(bad).encode())
    with pytest.raises(SchemaError):
        check("homeassistant/sensor/bad node/o/config", json.dumps(good).encode())


def test_unique_ids_are_stable_and_ids_never_share_a_slug():
    a, b = config(), config()
    assert discovery(a, Catalog(LOCALES, "en")).keys() == discovery(b, Catalog(LOCALES, "en")).keys()
    ids = ["a.b", "a_2eb", "a:b", "a-b", "a_b", "A-b"]
    assert len({slug(i) for i in ids}) == len(ids)
    assert all(c.isalnum() or c == "_" for i in ids for c in slug(i))


def test_templates_give_what_home_assistant_shows():
    cfg = config(language="sv")
    configs = {json.loads(v)["unique_id"]: json.loads(v) for v in discovery(cfg, Catalog(LOCALES, "sv")).values()}
    share = configs["staffcall_s1-store-promise_share"]["value_template"]
    assert render(share, b'{"greeted": 4, "greeted_within_target": 3}') == "75.0"
    assert render(share, b'{"greeted": 0, "greeted_within_target": 0}') == "None"  # unknown, not 0 %
    presence = configs["staffcall_s1-staff-anna-presence"]
    assert presence["name"] == "Anna närvaro"
    assert render(presence["value_template"], b'{"status": "on_shift"}') == "I tjänst"
    assert render(presence["value_template"], b'{"status": "offline"}') in presence["options"]
    assert render(presence["value_template"], b'{"status": "asleep"}') == "None"
    open_ = configs["staffcall_s1-device-kiosk_2d1-call_open"]
    assert open_["device"]["name"] == "Kiosk by the TVs" and open_["device"]["model"] == "Anropskiosk"


# --- the call points' states, a pure function of the hub's states ------------------------------------


def state(call_id: str, device: str, status: str, waited: int = 0) -> bytes:
    return json.dumps(
        {"id": call_id, "device": device, "zone": "z", "status": status, "tier": 1, "opened_at": "x",
         "updated_at": "x", "waited_s": waited}
    ).encode()  # fmt: skip


def test_waiting_seconds_count_on_and_are_republished_at_most_every_few_seconds():
    s = CallPointStates("s1", ["k1", "k2"], every_s=5)
    assert len(s.due(0.0)) == 3
    s.on_state("c1", state("c1", "k1", "waiting", 10), now=100.0)
    (topic, body), *_ = s.due(100.0)
    assert topic == "staffcall/s1/ha/device/k1" and json.loads(body)["waiting_s"] == 10
    assert json.loads(s.due(100.0) or b"{}") == {}
    assert s.due(102.0) == []
    assert json.loads(dict(s.due(105.0))["staffcall/s1/ha/device/k1"])["waiting_s"] == 15
    s.on_state("c1", state("c1", "k1", "greeted", 20), now=106.0)
    assert json.loads(dict(s.due(106.0))["staffcall/s1/ha/device/k1"]) == {
        "open": True, "waiting_s": 0, "status": "greeted", "calls": 1,
    }  # fmt: skip
    s.on_state("c1", b"", now=107.0)
    assert json.loads(dict(s.due(107.0))["staffcall/s1/ha/device/k1"])["open"] is False


@pytest.mark.parametrize(
    "payload",
    [b"\xff\xfe", b"[]", b'{"id": 1}', b"{" * 5000, state("c9", "nowhere", "waiting"), state("c9", "k1", "weird")],
)
def test_hostile_states_are_ignored_never_crash(payload: bytes):
    s = CallPointStates("s1", ["k1"], every_s=5)
    s.due(0.0)
    s.on_state("c9", payload, now=1.0)
    assert s.due(1.0) == [] and s.calls == {}


def test_config_errors_name_the_key_and_the_fix():
    for extra, key in (
        ('discovery_prefix = "home/#"', "discovery_prefix"),
        ('discovery_prefix = "ha\\ntopic write #"', "discovery_prefix"),
        ('discovery_prefix = "staffcall/s1"', "discovery_prefix"),
        ("state_every_s = 0", "state_every_s"),
        ('published_file = " "', "published_file"),
    ):
        with pytest.raises(ConfigError, match=rf"\[homeassistant\] {key}: .*(e\.g\.|must)"):
            config(extra)


def test_off_by_default_and_started_when_on():
    text = STORE_TOML.format(port=1883, db=":memory:", ack=30, esc=90, greet=120, unatt=600)
    assert not parse_config(text).homeassistant.enabled and enabled(parse_config(text)) == []
    assert [i.name for i in enabled(config())] == ["homeassistant"]
    assert "homeassistant/sensor" not in render_acl(parse_config(text))


# --- on the store's broker: the ACL, a real call through a real hub, removal -------------------------


def test_the_acl_lets_the_integration_write_only_its_own_topics(tmp_path: Path):
    store = start_store(tmp_path)
    writer = peer(store.cfg, "integrations")
    ha = peer(store.cfg, "homeassistant", subscribe=["#"])
    try:
        allowed = [
            "homeassistant/sensor/staffcall_s1/x/config",
            "homeassistant/binary_sensor/staffcall_s1/x/config",
            "staffcall/s1/ha/device/kiosk-1",
        ]
        denied = ["homeassistant/sensor/staffcall_s2/x/config", "homeassistant/switch/staffcall_s1/x/config",
                  "staffcall/s1/state/c1", "staffcall/s1/ha/other", "elsewhere/x"]  # fmt: skip
        for topic in allowed + denied:
            writer.publish(topic, b"1")
        writer.publish("staffcall/s1/ha/store", b"done")
        ha.wait_for(lambda t, m: m == b"done", 10)
        seen = set(ha.topics())
        assert set(allowed) <= seen and not seen & set(denied), seen
        kiosk = peer(store.cfg, "device:kiosk-1")
        kiosk.publish("staffcall/s1/call/kiosk-1", b'{"id": "c1"}')
        writer.publish("staffcall/s1/ha/store", b"done again")
        ha.wait_for(lambda t, m: m == b"done again", 10)
        assert "staffcall/s1/call/kiosk-1" not in ha.topics()  # Home Assistant reads no customer's call
        ha.publish("staffcall/s1/ha/store", b"forged by Home Assistant")
        ha.publish("homeassistant/sensor/staffcall_s1/forged/config", b"{}")
        writer.publish("staffcall/s1/ha/store", b"done at last")
        ha.wait_for(lambda t, m: m == b"done at last", 10)
        assert b"forged by Home Assistant" not in [m for _, m in ha.messages]  # its login only reads ours
        assert "homeassistant/sensor/staffcall_s1/forged/config" not in ha.topics()
        kiosk.close()
    finally:
        writer.close()
        ha.close()
        store.broker.stop()


def test_a_real_call_turns_the_entities_on_and_off(tmp_path: Path):
    store = start_store(tmp_path)
    hub = Hub(store.cfg)
    hub.start()
    host = IntegrationHost(store.cfg, [HomeAssistant(store.cfg)])
    ha = peer(store.cfg, "homeassistant", subscribe=["homeassistant/#", "staffcall/s1/#"])
    anna = peer(store.cfg, "staff:anna")
    point = CallPoint(store.cfg, "kiosk-1", str(tmp_path / "kiosk-1.outbox.db"))
    try:
        assert hub.ready.wait(15)
        host.start()
        point.start()
        configs = {}
        assert wait(lambda: len(configs.update(_configs(ha)) or configs) == 14), sorted(configs)
        for topic, payload in configs.items():
            check(topic, payload)
        by_id = {json.loads(v)["unique_id"]: json.loads(v) for v in configs.values()}
        call_open = by_id["staffcall_s1-device-kiosk_2d1-call_open"]
        waiting = by_id["staffcall_s1-device-kiosk_2d1-waiting"]
        open_calls = by_id["staffcall_s1-store-open_calls"]
        presence = by_id["staffcall_s1-staff-anna-presence"]

        def shown(entity) -> str | None:
            payload = last(ha, entity["state_topic"])
            return None if payload is None else render(entity["value_template"], payload)

        avail = call_open["availability"][0]
        assert wait(lambda: last(ha, avail["topic"]) == avail["payload_available"].encode())
        assert wait(lambda: shown(call_open) == "OFF")
        anna.publish("staffcall/s1/staff/anna/presence", b'{"status": "on_shift"}', retain=True)
        on_shift = Catalog(LOCALES, store.cfg.store.language).t("ha_on_shift")  # the store speaks Swedish
        assert wait(lambda: shown(presence) == on_shift == "I tjänst")

        call_id = point.call(reason="product")
        assert wait(lambda: shown(call_open) == "ON")
        assert wait(lambda: shown(open_calls) == "1")
        first = int(shown(waiting))
        assert wait(lambda: int(shown(waiting)) >= first + 2), "the waiting seconds move while the customer waits"

        point.cancel(call_id)
        assert wait(lambda: shown(call_open) == "OFF")
        assert shown(waiting) == "0"
        assert wait(lambda: shown(open_calls) == "0")
    finally:
        point.stop()
        anna.close()
        ha.close()
        host.stop()
        hub.stop()
        store.broker.stop()


def _configs(ha) -> dict[str, bytes]:
    return {t: m for t, m in list(ha.messages) if t.startswith("homeassistant/") and t.endswith("/config") and m}


def test_a_device_and_a_colleague_that_leave_the_config_are_removed_after_a_restart(tmp_path: Path):
    store = start_store(tmp_path)
    host = IntegrationHost(store.cfg, [HomeAssistant(store.cfg)]).start()
    ha = peer(store.cfg, "homeassistant", subscribe=["homeassistant/#"])
    kiosk2 = "homeassistant/binary_sensor/staffcall_s1/device-kiosk_2d2-call_open/config"
    chloe = "homeassistant/sensor/staffcall_s1/staff-chloe-presence/config"
    try:
        assert wait(lambda: last(ha, kiosk2) and last(ha, chloe))
        assert wait(lambda: kiosk2 in load_published(Path(store.cfg.homeassistant.published_file)))
    finally:
        host.stop()
        ha.close()
    # The store takes kiosk-2 away and Chloe leaves; the integrations restart with the new config.
    text = (tmp_path / "staffcall.toml").read_text()
    text = text.replace('[[devices]]\nid = "kiosk-2"\nkind = "kiosk"\nzone = "toys"\n', "")
    text = text.replace('[[staff]]\nid = "chloe"\nname = "Chloe"\nzones = ["toys"]\n', "")
    (tmp_path / "staffcall.toml").write_text(text)
    cfg = load_config(tmp_path / "staffcall.toml")
    assert "kiosk-2" not in cfg.devices_by_id and "chloe" not in cfg.staff_by_id
    host = IntegrationHost(cfg, [HomeAssistant(cfg)]).start()
    try:
        assert wait(lambda: kiosk2 not in load_published(Path(cfg.homeassistant.published_file)))
        fresh = peer(cfg, "homeassistant", subscribe=["homeassistant/#", "staffcall/s1/ha/#"])
        # 2 call points x 2, the store's 3, 4 colleagues
        assert wait(lambda: len(_configs(fresh)) == 11), sorted(_configs(fresh))
        retained = set(fresh.topics())
        assert kiosk2 not in retained and chloe not in retained
        assert "staffcall/s1/ha/device/kiosk-2" not in retained
        fresh.close()
    finally:
        host.stop()
        store.broker.stop()
