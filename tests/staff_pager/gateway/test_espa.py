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
from tests.staff_pager.gateway.simulators import espa_status_block


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
    # A generous answer timeout: the simulator answers at once, but a loaded CI machine may be slow to
    # run it, and a late answer would turn into a resend that the exact counts below would not expect.
    return EspaLink(port, timeout_s=kw.pop("timeout_s", 3.0), retries=kw.pop("retries", 2), **kw)


CALL = EspaCall("1234", "Kiosk 1: product")


def test_call_reaches_the_paging_system_exactly(port, espa_sim):
    link(port).send_call(CALL)
    assert espa_sim.wait_received(1) == [espa.call_block(CALL)]
    assert espa_sim.wait_until(lambda: espa_sim.line == "neutral"), "the control station must end with EOT"


def test_first_select_after_opening_the_port_starts_with_eot(port, espa_sim):
    # A paging system just powered on (or whose line was left mid-exchange) takes a select only
    # after EOT: without it the first page of every gateway start costs a timeout and a retry.
    link(port, retries=0).send_call(CALL)
    assert espa_sim.wait_received(1) == [espa.call_block(CALL)]
    assert espa_sim.selects == 1 and espa_sim.ignored == []


def test_the_simulator_ignores_a_select_without_eot(port, espa_sim):
    port.write(b"1" + ENQ + b"2" + ENQ)
    assert espa_sim.wait_until(lambda: len(espa_sim.ignored) == 4), "each byte ignored: no EOT before"
    assert espa_sim.selects == 0 and port.read(16) == b""
    port.write(EOT + b"1" + ENQ + b"2" + ENQ)
    assert espa_sim.wait_until(lambda: espa_sim.selects == 1) and port.read(1) == ACK


def test_line_errors_are_resent(port, espa_sim):
    espa_sim.not_ready = 1
    espa_sim.nak_next = [b"1", b""]
    espa_sim.corrupt_next = 1
    link(port, retries=3).send_call(CALL)
    assert espa_sim.wait_received(1) == [espa.call_block(CALL)]
    assert len(espa_sim.rejected) == 1, "the damaged copy must fail the BCC check"
    assert espa_sim.naks == [b"1" + NAK, b"1" + NAK, NAK]


def test_line_errors_every_time_are_declined_as_line_errors(port, espa_sim):
    espa_sim.nak_next = [b"1"] * 99
    with pytest.raises(TransmitterRefused, match=r"line errors \(NAK 1 x3\)"):
        link(port).send_call(CALL)
    assert espa_sim.received == []


def test_an_unknown_pager_is_declined_at_once_not_resent(port, espa_sim):
    espa_sim.known_pagers = {"5678"}
    with pytest.raises(TransmitterRefused, match=r"^pager unknown or unavailable \(NAK 3\)$"):
        link(port).send_call(CALL)
    assert espa_sim.naks == [b"3" + NAK], "a refusal is final: resending only delays the next colleague"
    assert espa_sim.wait_until(lambda: espa_sim.line == "neutral")


@pytest.mark.parametrize(
    ("prefix", "reason"),
    [
        (b"2", "paging system rejected the call data (NAK 2)"),
        (b"3", "pager unknown or unavailable (NAK 3)"),
        (b"7", "transmitter refused the page (NAK 7)"),
    ],
)
def test_each_refusal_has_its_own_reason(port, espa_sim, prefix, reason):
    espa_sim.nak_next = [prefix]
    with pytest.raises(TransmitterRefused) as info:
        link(port).send_call(CALL)
    assert str(info.value) == reason and len(espa_sim.naks) == 1


def test_data_the_paging_system_does_not_take_is_refused_not_resent(port, espa_sim):
    with pytest.raises(TransmitterRefused, match=r"NAK 2"):
        link(port).send_call(EspaCall("12AB", "letters in a call address"))
    with pytest.raises(TransmitterRefused, match=r"NAK 2"):
        link(port).send_call(EspaCall("1234", "two digits of priority", priority="12"))
    assert espa_sim.naks == [b"2" + NAK] * 2 and espa_sim.received == []


def test_bare_naks_every_time_are_a_refusal(port, espa_sim):
    espa_sim.nak_next = [b""] * 99
    with pytest.raises(TransmitterRefused, match=r"refused the page \(NAK x3\)"):
        link(port).send_call(CALL)


def test_busy_paging_system_is_declined_as_busy(port, espa_sim):
    espa_sim.not_ready = 99
    with pytest.raises(TransmitterRefused, match=r"busy \(NAK to select x3\)"):
        link(port).send_call(CALL)


def test_timeout_when_the_paging_system_is_silent(port, espa_sim):
    espa_sim.silent = True
    started = time.monotonic()
    with pytest.raises(TransmitterTimeout, match="no answer to ENQ"):
        link(port, timeout_s=0.2, retries=1).send_call(CALL)
    assert time.monotonic() - started < 2


def test_poll_idle_and_status_with_a_bad_bcc(port, espa_sim):
    lk = link(port, timeout_s=0.5)
    assert lk.poll() == []
    status = espa_status_block({"1": "1234", "7": "1"})
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
