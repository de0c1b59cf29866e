"""The pure parts (keys, limits, customer view, staff desk) and the printed signs."""

from __future__ import annotations

import doctest

import pytest

import phones.customer
import phones.keys
import phones.limits
import phones.staffdesk
from broker.config import ConfigError
from phones.keys import check_qr_key, qr_key, unsign
from phones.limits import CallLimiter
from tests.phones.conftest import SECRET, phones_config


@pytest.mark.parametrize("module", [phones.keys, phones.limits, phones.customer, phones.staffdesk])
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
    from phones.signs import sign_url, write_signs

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
    from broker.config import parse_config

    with pytest.raises(ConfigError, match=r"\[web\] qr_secret"):
        parse_config('[store]\nid = "s1"\nname = "S"\n[web]\nqr_secret = "short"\n')
    with pytest.raises(ConfigError, match=r"\[web\] qr_reasons"):
        parse_config('[store]\nid = "s1"\nname = "S"\n[web]\nqr_reasons = ["a", "b", "c", "d", "e"]\n')
