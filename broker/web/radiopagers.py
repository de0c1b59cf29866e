"""Managers set the presence of colleagues who carry only a radio pager: who may set whom, and what to publish.

A colleague with ``pager = "espa:..."`` (or ``tap:``) and no ``pin_hash`` has no app and
cannot sign in anywhere, so nothing would ever say they are on shift and the hub would
never page them.  A manager signed in to the staff web app sets it for them; the hub
then pages them like anyone else and the pager gateway delivers it to the radio pager.

Only ``on_shift`` and ``off``: a radio pager cannot report a break or going offline, and
the presence is not followed by a Will (``Publish.will`` is False): no connection of the
colleague's exists whose death would mean anything.

Pure: the roster in, ``Publish`` commands or a refusal (``CallRefused``, 403) out.

Example::

    >>> from broker.contract.config import Staff
    >>> team = RadioPagers.from_staff([Staff("maria", "Maria", manager=True, pin_hash="x"),
    ...                                Staff("dave", "Dave", pager="espa:1234")])
    >>> team.set_presence("maria", "dave", "on_shift")
    [Publish(topic='staff/dave/presence', body={'status': 'on_shift'}, retain=True, seq=None, will=False)]
    >>> team.view("maria", {"dave": "on_shift"})
    [{'staff': 'dave', 'name': 'Dave', 'presence': 'on_shift'}]
    >>> team.view("dave", {}) is None
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from broker.contract.config import Staff
from broker.web.qrdesk import CallRefused
from broker.web.staffdesk import Publish

RADIO_STATUSES = ("on_shift", "off")
PRESENCE_STATUSES = ("on_shift", "break", "off", "offline")
"""Every presence the protocol knows: another word is a bad request (400), not a refusal (403)."""


def radio_only(member: Staff) -> bool:
    """A radio pager and no PIN: nobody but a manager can set their presence."""
    return bool(member.pager) and not member.pin_hash


@dataclass(frozen=True)
class RadioPagers:
    managers: frozenset[str]
    """Managers who can sign in to the staff web app (they have a PIN)."""
    radio: dict[str, str]
    """Radio-pager-only colleagues, id -> name, in the config's order."""
    known: frozenset[str]

    @classmethod
    def from_staff(cls, staff: Iterable[Staff]) -> RadioPagers:
        staff = list(staff)
        return cls(
            managers=frozenset(s.id for s in staff if s.manager and s.pin_hash),
            radio={s.id: s.name for s in staff if radio_only(s)},
            known=frozenset(s.id for s in staff),
        )

    def set_presence(self, manager: str, colleague: str | None, status: str | None) -> list[Publish]:
        """The retained presence to publish; raises ``CallRefused``: 400 for a malformed body, 403 for the rest."""
        if not colleague or not status:
            raise CallRefused("bad_request", 400, detail='both needed, e.g. {"staff": "dave", "status": "on_shift"}')
        if status not in PRESENCE_STATUSES:
            raise CallRefused("bad_request", 400, detail="status: on_shift or off for a radio pager")
        if manager not in self.managers:
            raise CallRefused("not_a_manager", 403, detail="only a manager can set a colleague's presence")
        if colleague not in self.known:
            raise CallRefused("unknown_staff", 403, detail=f"no colleague {str(colleague)[:64]!r} in [[staff]]")
        if colleague not in self.radio:
            raise CallRefused(
                "not_radio_only",
                403,
                detail=f"{colleague} has no radio pager or has a PIN: they set their own presence",
            )
        if status not in RADIO_STATUSES:
            raise CallRefused("status_not_allowed", 403, detail="status: on_shift or off for a radio pager")
        return [Publish(f"staff/{colleague}/presence", {"status": status}, retain=True, will=False)]

    def view(self, viewer: str, presence: Mapping[str, str]) -> list[dict[str, Any]] | None:
        """The "Radio pagers" section of the staff app for a manager; None for everyone else."""
        if viewer not in self.managers:
            return None
        return [{"staff": s, "name": name, "presence": presence.get(s)} for s, name in self.radio.items()]
