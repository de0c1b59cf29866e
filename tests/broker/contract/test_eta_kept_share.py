"""``[store] eta_kept_share``: the share of customers the estimate shown should hold for."""

from __future__ import annotations

import pytest

from broker.contract.config import ConfigError, parse_config
from tests.conftest import STORE_TOML, store_config


def with_share(share: str) -> str:
    text = STORE_TOML.format(port=1883, db=":memory:", ack=30, esc=90, greet=120, unatt=600)
    return text.replace("[store]\n", f"[store]\neta_kept_share = {share}\n", 1)


def test_the_default_aims_at_85_percent_and_a_store_may_choose() -> None:
    assert store_config().store.eta_kept_share == 0.85
    assert parse_config(with_share("0.9")).store.eta_kept_share == 0.9


@pytest.mark.parametrize("share", ["0.3", "1.0", "85"])
def test_a_share_out_of_range_names_the_key_and_the_fix(share: str) -> None:
    with pytest.raises(ConfigError, match=r"\[store\] eta_kept_share: must be a share between 0.5 and 0.99"):
        parse_config(with_share(share))
