"""TAP/IXO 1.8: byte-exact blocks, and the link against a simulated paging central on a pty."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardware import tap
from hardware.paging import PageFailed, TransmitterRefused, TransmitterTimeout
from hardware.serialport import PORT_ERRORS, open_port
from hardware.tap import CR, ETX, STX, TapLink
from tests.staff_pager.gateway.simulators import leave_logged_on


def test_worked_example_checksum_is_17_semicolon():
    assert tap.checksum(STX + b"123" + CR + b"ABC" + CR + ETX) == b"17;"
    assert tap.build_block("123", "ABC") == STX + b"123\rABC\r" + ETX + b"17;" + CR


def test_checksum_keeps_the_low_12_bits():
    # 0x1000 + 0x123: the carry above 12 bits is dropped.
    data = bytes([0x7E] * 34 + [0x1123 - 0x7E * 34])
    assert sum(data) == 0x1123 and tap.checksum(data) == b"\x31\x32\x33"


def test_parse_rejects_a_bad_checksum_and_bad_text():
    block = tap.build_block("5551234", "Kiosk 1")
    assert tap.parse_block(block) == ("5551234", "Kiosk 1")
    with pytest.raises(tap.TapError, match="bad checksum"):
        tap.parse_block(block[:3] + b"X" + block[4:])
    with pytest.raises(tap.TapError, match="printable ASCII"):
        tap.build_block("1", "line\rbreak")
    with pytest.raises(tap.TapError, match="249"):
        tap.build_block("1", "x" * 250)


def test_a_block_is_at_most_256_characters():
    assert len(tap.build_block("5551234", "x" * tap.max_message("5551234"))) == 256
    with pytest.raises(tap.TapError, match="257 characters; TAP allows 256"):
        tap.build_block("5551234", "x" * (tap.max_message("5551234") + 1))


@given(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=241))
def test_build_parse_round_trip(message):
    assert tap.parse_block(tap.build_block("5551234", message)) == ("5551234", message)


def link(port, **kw) -> TapLink:
    # Generous: the simulator answers at once, but a loaded CI machine may be slow to run it.
    return TapLink(port, timeout_s=kw.pop("timeout_s", 3.0), retries=kw.pop("retries", 2), **kw)


def test_page_reaches_the_central_exactly(port, tap_sim):
    link(port).send_page("5551234", "Kiosk 1: product")
    assert tap_sim.wait_received(1) == [
        STX + b"5551234\rKiosk 1: product\r" + ETX + tap.checksum(STX + b"5551234\rKiosk 1: product\r" + ETX) + CR
    ]
    assert tap_sim.wait_until(lambda: tap_sim.logoffs == 1) and tap_sim.logins == 1


def test_nak_and_line_damage_then_retry(port, tap_sim):
    tap_sim.nak_blocks = 1
    tap_sim.corrupt_next = 1
    link(port).send_page("5551234", "hello")
    assert tap_sim.wait_received(1) == [tap.build_block("5551234", "hello")]
    assert len(tap_sim.rejected) == 1, "the damaged copy must fail the checksum"


def test_rs_is_a_refusal_with_the_terminals_whole_text(port, tap_sim):
    tap_sim.refuse = True
    with pytest.raises(TransmitterRefused) as info:
        link(port).send_page("999", "hello")
    assert str(info.value) == "refused: 511 Invalid pager ID - not in database"
    assert tap_sim.wait_until(lambda: tap_sim.logoffs == 1), "log off even after a refusal"


def test_checksum_errors_every_time_end_in_the_terminals_refusal(port, tap_sim):
    tap_sim.corrupt_next = 99
    with pytest.raises(TransmitterRefused, match="^refused: 503 Excessive checksum errors$"):
        link(port, retries=5).send_page("5551234", "hello")
    assert len(tap_sim.rejected) == 3


def test_busy_terminal_is_declined_with_its_reason(port, tap_sim):
    tap_sim.nak_blocks = 99
    with pytest.raises(TransmitterRefused, match="^NAK x3: 512 Temporarily cannot deliver, try later$"):
        link(port).send_page("5551234", "hello")


def test_a_terminal_left_logged_on_is_logged_off_and_paged(adapter, tap_sim):
    leave_logged_on(adapter, tap_sim)
    fresh = open_port(str(adapter.path))
    try:
        link(fresh, retries=0).send_page("5551234", "after the replug")
    finally:
        fresh.close()
    assert tap_sim.wait_received(1) == [tap.build_block("5551234", "after the replug")]
    assert tap_sim.logoffs == 2 and tap_sim.logins == 2


def test_a_terminal_left_mid_block_is_recovered(adapter, tap_sim):
    tap_sim.block_timeout_s = 0.2
    leave_logged_on(adapter, tap_sim, then=STX + b"5551234\rKiosk 1: pro")
    fresh = open_port(str(adapter.path))
    try:
        # The first CRs may still land in the dropped block; a later attempt comes after its timeout.
        link(fresh, timeout_s=1.0, retries=3).send_page("5551234", "after the power cut")
    finally:
        fresh.close()
    assert tap_sim.wait_received(1) == [tap.build_block("5551234", "after the power cut")]


def test_a_lone_cr_does_not_wake_a_logged_on_terminal(adapter, tap_sim):
    leave_logged_on(adapter, tap_sim)
    fresh = open_port(str(adapter.path))
    try:
        fresh.write(CR)
        assert not tap_sim.wait_until(lambda: tap_sim.session != "logged_on", timeout=0.5)
        assert fresh.read(8) == b""
    finally:
        fresh.close()


def test_wrong_password_is_a_refusal(port, tap_sim):
    tap_sim.password = "SECRET"
    with pytest.raises(TransmitterRefused, match="login"):
        link(port, password="WRONG").send_page("5551234", "hello")
    link(port, password="SECRET").send_page("5551234", "hello")
    assert tap_sim.wait_received(1)


def test_timeout_when_the_central_is_silent(port, tap_sim):
    tap_sim.silent = True
    started = time.monotonic()
    with pytest.raises(TransmitterTimeout, match="ID="):
        link(port, timeout_s=0.2, retries=1).send_page("5551234", "hello")
    assert time.monotonic() - started < 2


def test_unplugged_adapter_is_a_port_error(port, tap_sim, adapter):
    link(port).send_page("5551234", "one")
    adapter.unplug()
    with pytest.raises(Exception) as info:
        link(port).send_page("5551234", "two")
    assert not isinstance(info.value, PageFailed)
    assert isinstance(info.value, PORT_ERRORS)
