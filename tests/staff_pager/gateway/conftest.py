"""Fixtures for the pager gateway: a fake serial adapter on a pty and simulated transmitters."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.contract.config import Config, parse_config
from broker.mosquitto.runner import Broker
from hardware.serialport import open_port
from staff_pager.gateway import PagerGateway
from tests.conftest import STORE_TOML
from tests.staff_pager.gateway.simulators import EspaPagingSystem, FakeAdapter, TapCentral


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


GATEWAY_TOML = """
[pager_gateway]
port = "{port}"
protocol = "{protocol}"
timeout_s = 0.3
retries = 1
max_chars = 60
queue_limit = 3
outage_timeout_s = {outage}
reconnect_max_s = 0.5
"""


def gateway_config(broker_port: int, db: str, serial_port: str, protocol: str = "espa", outage: float = 15.0):
    """The shared test store, with pagers for anna (1234) and ben (5678) behind a gateway."""
    text = STORE_TOML.format(port=broker_port, db=db, ack=30, esc=90, greet=120, unatt=600)
    text = text.replace('id = "anna"\n', f'id = "anna"\npager = "{protocol}:1234"\n')
    text = text.replace('id = "ben"\n', f'id = "ben"\npager = "{protocol}:5678"\n')
    text += GATEWAY_TOML.format(port=serial_port, protocol=protocol, outage=outage)
    return parse_config(text)


@pytest.fixture
def config(broker: Broker, tmp_path: Path, adapter: FakeAdapter) -> Config:
    return gateway_config(broker.port, str(tmp_path / "staffcall.db"), str(adapter.path))


@pytest.fixture
def gateway(config: Config) -> Iterator[PagerGateway]:
    gw = PagerGateway(config)
    gw.start()
    assert gw.ready.wait(10), f"the gateway did not get ready: {gw.state} {gw.last_error}"
    yield gw
    gw.stop()
