"""The pure parts (keys, limits, customer view, staff desk) and the printed signs."""

from __future__ import annotations

import doctest

import pytest

import broker.web.customer
import broker.web.keys
import broker.web.limits
import broker.web.staffdesk
from broker.contract.config import ConfigError
from broker.web.keys import check_qr_key, qr_key, unsign
from broker.web.limits import CallLimiter
from tests.broker.web.conftest import SECRET, phones_config


@pytest.mark.parametrize("module", [broker.web.keys, broker.web.limits, broker.web.customer, broker.web.staffdesk])
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


def test_keys_and_limits():
    assert not check_qr_key(SECRET, "qr-paint", None) and not check_qr_key(SECRET, "qr-paint", "")
    assert check_qr_key(SECRET, "qr-paint", qr_key(SECRET, "qr-paint"))
    assert unsign(SECRET, "anna|1.forged") is None and unsign(SECRET, None) is None
    lim = CallLimiter(every_s=120, per_ip=2)
    for i, phone in enumerate(("a", "b")):
        assert lim.check(phone, "ip", now=float(i)) is None
        lim.note(phone, "ip", now=float(i))
    assert lim.check("c", "ip", now=2.0) == 118  # a third phone behind the same address waits
    assert lim.check("c", "other-ip", now=2.0) is None


def test_signs_pdf(tmp_path):
    from broker.web.signs import sign_url, write_signs

    cfg = phones_config(1883, ":memory:", str(tmp_path))
    out = tmp_path / "signs.pdf"
    assert write_signs(cfg, out) == 2
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") >= 2
    assert sign_url(cfg, "qr-paint").endswith(f"/c/qr-paint?k={qr_key(SECRET, 'qr-paint')}")
    cfg.web.public_url = ""
    with pytest.raises(ConfigError, match="public_url"):
        write_signs(cfg, out)


def test_config_errors_name_the_key(tmp_path):
    from broker.contract.config import parse_config

    with pytest.raises(ConfigError, match=r"\[web\] qr_secret"):
        parse_config('[store]\nid = "s1"\nname = "S"\n[web]\nqr_secret = "short"\n')
    with pytest.raises(ConfigError, match=r"\[web\] qr_reasons"):
        parse_config('[store]\nid = "s1"\nname = "S"\n[web]\nqr_reasons = ["a", "b", "c", "d", "e"]\n')


def test_zone_names_fall_back_to_the_id_and_errors_name_the_key():
    from broker.contract.config import parse_config

    head = '[store]\nid = "s1"\nname = "S"\n'
    cfg = parse_config(head + '[[zones]]\nid = "paint"\nname = "Paint"\nnames = { sv = "Färg" }\n')
    assert cfg.zone_name("paint", "sv") == "Färg"
    assert cfg.zone_name("paint", "en") == "Paint"  # no English name of its own: the zone's name
    assert cfg.zone_name("garden", "sv") == "garden"  # not named: the id
    bad = {
        '[[zones]]\nid = "a b"\n': r"\[\[zones\]\] #1 id",
        '[[zones]]\nid = "paint"\n[[zones]]\nid = "paint"\n': r"\[\[zones\]\] #2 id: 'paint' is named twice",
        '[[zones]]\nid = "paint"\nnames = { svenska = "Färg" }\n': r"\[\[zones\]\] #1 names: 'svenska'",
        '[[zones]]\nid = "paint"\nnames = { sv = "" }\n': r"\[\[zones\]\] #1 names.sv",
        '[[zones]]\nid = "paint"\nname = "x\\ty"\n': r"\[\[zones\]\] #1 name",
        '[[zones]]\nid = "paint"\ncolour = "red"\n': r"\[\[zones\]\] #1: .*`colour`; remove it",
    }
    for text, match in bad.items():
        with pytest.raises(ConfigError, match=match):
            parse_config(head + text)
