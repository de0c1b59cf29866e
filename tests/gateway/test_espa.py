"""ESPA 4.4.4: byte-exact framing, and the link against a simulated paging system on a pty."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardware import espa
from hardware.espa import ACK, ENQ, EOT, ETX, NAK, RS, SOH, STX, US, EspaCall, EspaLink
from hardware.paging import PageFailed, TransmitterRefused, TransmitterTimeout
from hardware.serialport import PORT_ERRORS


def test_worked_example_bcc_is_0x5f():
    assert espa.bcc(b"1" + STX + b"1" + US + b"A" + ETX) == 0x5F
    assert espa.build_block("1", [("1", "A")]) == bytes.fromhex("01 31 02 31 1f 41 03 5f")


def test_call_block_is_byte_exact():
    frame = espa.call_block(EspaCall("1234", "Kiosk 1", beep="2", call_type="3", priority="1"))
    body = b"1" + STX + b"1" + US + b"1234" + RS + b"2" + US + b"Kiosk 1" + RS + b"3" + US + b"2"
    body += RS + b"4" + US + b"3" + RS + b"6" + US + b"1" + ETX
    x = 0
    for byte in body:
        x ^= byte
    assert frame == SOH + body + bytes([x])


def test_parse_rejects_bad_bcc_and_bad_shape():
    good = espa.build_block("2", [("1", "1234"), ("7", "1")])
    assert espa.parse_block(good) == espa.Block("2", {"1": "1234", "7": "1"})
    with pytest.raises(espa.EspaError, match="bad BCC"):
        espa.parse_block(good[:-1] + bytes([good[-1] ^ 0xFF]))
    with pytest.raises(espa.EspaError, match="not a block"):
        espa.parse_block(b"\x011\x021\x1fA")
    with pytest.raises(espa.EspaError, match="printable ASCII"):
        espa.build_block("1", [("2", "v\u00e4ntar")])


@given(
    st.lists(
        st.tuples(st.sampled_from("1234567"), st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E))),
        min_size=1,
        max_size=6,
        unique_by=lambda kv: kv[0],
    )
)
def test_build_parse_round_trip(records):
    assert espa.parse_block(espa.build_block("1", records)).records == dict(records)


def link(port, **kw) -> EspaLink:
    return EspaLink(port, timeout_s=kw.pop("timeout_s", 0.3), retries=kw.pop("retries", 2), **kw)


CALL = EspaCall("1234", "Kiosk 1: product")


def test_call_reaches_the_paging_system_exactly(port, espa_sim):
    link(port).send_call(CALL)
    assert espa_sim.wait_received(1) == [espa.call_block(CALL)]
    assert espa_sim.wait_until(lambda: not espa_sim._selected), "the control station must end with EOT"


def test_nak_then_retry(port, espa_sim):
    espa_sim.not_ready = 1
    espa_sim.nak_blocks = 1
    espa_sim.corrupt_next = 1
    link(port).send_call(CALL)
    assert espa_sim.wait_received(1) == [espa.call_block(CALL)]
    assert len(espa_sim.rejected) == 1, "the damaged copy must fail the BCC check"


def test_refused_after_retries(port, espa_sim):
    espa_sim.nak_blocks = 99
    with pytest.raises(TransmitterRefused, match="NAK x3"):
        link(port).send_call(CALL)
    assert espa_sim.received == []


def test_timeout_when_the_paging_system_is_silent(port, espa_sim):
    espa_sim.silent = True
    started = time.monotonic()
    with pytest.raises(TransmitterTimeout, match="no answer to ENQ"):
        link(port, timeout_s=0.2, retries=1).send_call(CALL)
    assert time.monotonic() - started < 2


def test_poll_idle_and_status_with_a_bad_bcc(port, espa_sim):
    lk = link(port)
    assert lk.poll() == []
    status = espa.build_block("2", [("1", "1234"), ("7", "1")])
    espa_sim.status_blocks = [status[:-1] + bytes([status[-1] ^ 0x55])]
    assert lk.poll() == [espa.Block("2", {"1": "1234", "7": "1"})]
    assert espa_sim.acks_from_control == [ACK, NAK, ACK], "bad BCC must be NAKed, the resent block ACKed"
    assert espa_sim.polls == 2
    espa_sim.silent = True
    with pytest.raises(TransmitterTimeout, match="poll"):
        lk.poll()


def test_unplugged_adapter_is_a_port_error_not_a_refusal(port, espa_sim, adapter):
    lk = link(port)
    lk.send_call(CALL)
    adapter.unplug()
    with pytest.raises(Exception) as info:
        lk.send_call(CALL)
    assert not isinstance(info.value, PageFailed)
    assert isinstance(info.value, PORT_ERRORS)


def test_control_characters_used_are_iso_1745():
    assert (SOH, STX, ETX, EOT, ENQ, ACK, NAK) == (b"\x01", b"\x02", b"\x03", b"\x04", b"\x05", b"\x06", b"\x15")
