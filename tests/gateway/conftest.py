"""Fixtures for the pager gateway: a fake serial adapter on a pty and simulated transmitters."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from hardware.serialport import open_port
from tests.gateway.simulators import EspaPagingSystem, FakeAdapter, TapCentral


@pytest.fixture
def adapter(tmp_path: Path) -> Iterator[FakeAdapter]:
    a = FakeAdapter(tmp_path)
    yield a
    a.close()


@pytest.fixture
def espa_sim(adapter: FakeAdapter) -> Iterator[EspaPagingSystem]:
    sim = EspaPagingSystem(adapter)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def tap_sim(adapter: FakeAdapter) -> Iterator[TapCentral]:
    sim = TapCentral(adapter, password="")
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def port(adapter: FakeAdapter):
    p = open_port(str(adapter.path), 9600, 7, "E", 2)
    yield p
    with contextlib.suppress(Exception):
        p.close()
