"""The pager's pure core: alerts, allowed buttons, live waits, the staff outbox. No broker, no Kivy."""

import pytest

from broker.callpoint.pager import PagerCore, mmss
from broker.callpoint.pending import GIVE_UP_AFTER_S, RESEND_AFTER_S
from broker.contract.protocol import PageMsg, StateMsg


def page(call_id="c1", kind="call", tier=1) -> PageMsg:
    return PageMsg(
        id=call_id, device="kiosk-1", zone="electronics", reason="product", tier=tier,
        opened_at="2026-01-01T10:00:00.000Z", text="Kiosk by the TVs", kind=kind, label="Kiosk by the TVs",
    )  # fmt: skip


def state(call_id="c1", status="waiting", staff="anna", tier=1, waited=0, opened="10:00:00") -> StateMsg:
    return StateMsg(
        id=call_id, device="kiosk-1", zone="electronics", reason="product", status=status, tier=tier, staff=staff,
        staff_name=staff.title() if staff else None, staff_role=None, eta_s=None,
        opened_at=f"2026-01-01T{opened}.000Z", updated_at="2026-01-01T10:00:00.000Z", waited_s=waited,
    )  # fmt: skip


def test_a_page_alerts_until_acknowledged_and_the_ack_waits_for_the_hub():
    core = PagerCore("anna")
    assert core.on_page(page(), now=10.0) is True
    core.on_state(state(), now=10.0)
    assert core.alerting(10.0).id == "c1"
    assert core.allowed("c1") == {"ack", "greet", "resolve", "decline"}
    item = core.act("ack", "c1", now=12.0)
    assert item.action == "ack" and item.body == {"id": "c1"}
    assert core.alerting(12.0) is None
    assert "ack" not in core.allowed("c1")  # pending: no double taps
    assert len(core.outbox) == 1
    core.on_state(state(status="waiting"), now=12.5)  # an older state does not confirm
    assert len(core.outbox) == 1
    core.on_state(state(status="acknowledged"), now=13.0)
    assert len(core.outbox) == 0
    assert core.allowed("c1") == {"greet", "resolve", "decline"}


def test_waits_tick_on_the_local_clock_from_the_hubs_figure():
    core = PagerCore("anna")
    core.on_state(state(waited=40), now=100.0)
    assert core.waited("c1", 100.0) == 40
    assert core.open_calls(125.0)[0].waited_s == 65
    core.on_state(state(status="greeted", waited=70), now=130.0)
    assert core.waited("c1", 500.0) == 70  # greeted: the customer no longer waits
    assert mmss(65) == "1:05" and mmss(None) == "-"


def test_open_calls_list_waiting_first_longest_first_with_take_for_a_free_colleague():
    core = PagerCore("chloe")
    core.on_state(state("c1", "acknowledged", staff="anna", waited=90, opened="10:00:00"), now=0.0)
    core.on_state(state("c2", "waiting", staff="ben", waited=10, opened="10:01:20"), now=0.0)
    core.on_state(state("c3", "waiting", staff="ben", waited=30, opened="10:01:00"), now=0.0)
    rows = core.open_calls(1.0)
    assert [r.id for r in rows] == ["c3", "c2", "c1"]
    assert "ack" in rows[0].allowed and "decline" not in rows[0].allowed  # not paged: take, not pass
    assert rows[2].allowed == set()  # Anna has it below tier 3: leave it to her


def test_a_closed_call_disappears_and_makes_pending_actions_moot():
    core = PagerCore("anna")
    core.on_page(page(), 0.0)
    core.on_state(state(), 0.0)
    core.act("greet", "c1", 1.0)
    core.on_state(state(status="cancelled"), 2.0)
    assert core.open_calls(2.0) == [] and len(core.outbox) == 0 and core.alerting(2.0) is None
    core.on_state(state("c2"), 3.0)
    core.on_cleared("c2")
    assert core.open_calls(3.0) == []


def test_decline_is_confirmed_by_the_next_colleague_or_the_broker():
    core = PagerCore("anna")
    core.on_page(page(), 0.0)
    core.on_state(state(), 0.0)
    item = core.act("decline", "c1", 1.0)
    assert core.alerting(1.0) is None and "c1" not in core.pages
    core.on_state(state(staff="ben", tier=2), 1.5)
    assert len(core.outbox) == 0
    core.on_page(page("c2", tier=3, kind="escalation"), 2.0)
    core.on_state(state("c2", staff=None, tier=3), 2.0)
    item = core.act("decline", "c2", 3.0)
    core.outbox.confirm_seq(item.seq)  # tier 3: the hub publishes no state, the PUBACK confirms
    assert len(core.outbox) == 0


def test_unconfirmed_actions_are_resent_after_a_while_and_at_once_after_reconnect():
    core = PagerCore("anna")
    core.on_state(state(), 0.0)
    item = core.act("ack", "c1", 0.0)
    assert core.outbox.to_send(0.0) == [item]
    core.outbox.mark_sent(item.seq, 0.0)
    assert core.outbox.to_send(1.0) == []
    assert core.outbox.to_send(RESEND_AFTER_S) == [item]
    core.outbox.mark_sent(item.seq, RESEND_AFTER_S)
    core.outbox.reconnected()
    assert core.outbox.to_send(RESEND_AFTER_S + 1) == [item]
    assert core.outbox.to_send(GIVE_UP_AFTER_S + 1) == []  # never confirmed: given up


def test_a_reminder_for_a_call_i_took_alerts_again_and_ok_silences_it_locally():
    core = PagerCore("anna")
    core.on_page(page(), 0.0)
    core.on_state(state(), 0.0)
    core.act("ack", "c1", 1.0)
    core.on_state(state(status="acknowledged"), 1.5)
    assert core.on_page(page(kind="repage"), 60.0) is True
    assert core.alerting(60.0).kind == "repage"
    assert core.act("ack", "c1", 61.0) is None  # nothing to send: the hub has my ack
    assert core.alerting(61.0) is None and len(core.outbox) == 0


def test_a_call_taken_by_someone_else_stops_alerting():
    core = PagerCore("anna")
    core.on_page(page(tier=3, kind="escalation"), 0.0)
    core.on_state(state(status="waiting", staff=None, tier=2), 0.0)
    core.on_state(state(status="acknowledged", staff="ben", tier=2), 1.0)
    assert core.alerting(1.0) is None
    assert core.allowed("c1") == set()


def test_a_state_naming_me_alerts_even_when_the_page_was_missed():
    core = PagerCore("anna")
    core.on_state(state(status="waiting", staff="anna"), 5.0)
    alert = core.alerting(5.0)
    assert alert.id == "c1" and alert.page is None
    core.act("ack", "c1", 6.0)
    assert core.alerting(6.0) is None


def test_unattended_pages_for_managers_show_until_dismissed():
    core = PagerCore("maria")
    core.on_state(state(status="unattended"), 0.0)
    assert core.on_page(page(kind="unattended"), 0.0) is True
    assert core.alerting(0.0).kind == "unattended" and core.allowed("c1") == {"dismiss"}
    assert core.act("dismiss", "c1", 1.0) is None
    assert core.alerting(1.0) is None


def test_actions_the_call_does_not_allow_are_refused():
    core = PagerCore("anna")
    with pytest.raises(ValueError, match="not possible"):
        core.act("ack", "nope", 0.0)
    core.on_state(state(status="greeted"), 0.0)
    with pytest.raises(ValueError):
        core.act("ack", "c1", 0.0)
    assert core.act("resolve", "c1", 0.0, outcome="sale").body == {"id": "c1", "outcome": "sale"}


def test_focus_is_the_alert_else_my_newest_call():
    core = PagerCore("anna")
    assert core.focus(0.0) is None
    core.on_state(state("c1", "acknowledged"), 0.0)
    core.on_state(state("c2", "waiting", staff="ben"), 1.0)
    assert core.focus(1.0) == "c1"
    core.on_page(page("c3"), 2.0)
    core.on_state(state("c3"), 2.0)
    assert core.focus(2.0) == "c3"
