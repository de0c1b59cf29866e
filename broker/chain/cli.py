"""``staffcall chain ...``: the chain's head-office commands (ingest, report, board).

Each subcommand lives in its own module with ``add_arguments(parser)`` and ``run(args)``;
those modules import pyarrow, DuckDB and the cluster client inside ``run`` so
``staffcall chain --help`` stays quick and a store's hub never loads them.
"""

from __future__ import annotations

import argparse
import importlib

SUBCOMMANDS = {
    "ingest": "consume every store's records from the chain cluster into Parquet files, exactly once per call",
    "report": "the store report's figures across the chain: per store and region, rankings, shout-outs",
    "cluster": "the chain cluster's node configs, logins and systemd units (init); its streams (streams)",
    "board": "one live web page of every store: open calls, longest wait, today's promise, stores offline",
}


def register(sub: argparse._SubParsersAction) -> None:
    chain = sub.add_parser(
        "chain",
        help="a chain of stores: ingest their records, report across them, a live board of every store",
        description="Head-office commands for a chain of stores (see docs/chain.md).",
    )
    chain_sub = chain.add_subparsers(dest="chain_command", metavar="CHAIN_COMMAND", required=True)
    for name, text in SUBCOMMANDS.items():
        module = importlib.import_module(f"broker.chain.{name}")
        parser = chain_sub.add_parser(name, help=text, description=text)
        module.add_arguments(parser)
        parser.set_defaults(func=module.run)
