"""``staffcall broker ...``: set up and run the store's Mosquitto with one login per part.

Example::

    staffcall broker ca --out /etc/staffcall/tls --host hub.local --host 192.168.1.10
    staffcall broker init --config /etc/staffcall/staffcall.toml --out /etc/staffcall/broker
    staffcall broker run --dir /etc/staffcall/broker
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from broker.contract.config import ConfigError, load_config


def register(sub: argparse._SubParsersAction) -> None:
    broker = sub.add_parser(
        "broker",
        help="set up and run the store's Mosquitto (logins, ACL, TLS)",
        description="Generate and run the store's Mosquitto setup from the staffcall config.\n\n"
        "Example: staffcall broker init --config staffcall.toml --out /etc/staffcall/broker",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = broker.add_subparsers(dest="broker_command", metavar="ACTION")
    init = actions.add_parser(
        "init",
        help="write mosquitto.conf, the ACL, hashed logins and credentials.toml",
        description="Write mosquitto.conf (no anonymous logins), an ACL with least privilege, a hashed password "
        "file and credentials.toml (mode 0600: one generated password per device, colleague and service; "
        "existing passwords are kept).\n\n"
        "Example: staffcall broker init --config staffcall.toml --out /etc/staffcall/broker",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    init.add_argument("--config", "-c", default="staffcall.toml", help="the store's TOML config")
    init.add_argument("--out", required=True, help="folder for the generated files")
    init.add_argument("--data-dir", default=None, help="Mosquitto's persistence folder (default: OUT/data)")
    init.add_argument(
        "--user",
        default=None,
        help="the account Mosquitto switches to when started as root (default: Mosquitto's own, mosquitto); "
        "run as root, init gives it the data folder and read access to passwd, acl and the TLS key",
    )
    init.set_defaults(func=run_init)

    run = actions.add_parser(
        "run",
        help="run Mosquitto with the generated setup (long-running service)",
        description="Run Mosquitto with the mosquitto.conf that `staffcall broker init` wrote.\n\n"
        "Example: staffcall broker run --dir /etc/staffcall/broker",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--dir", required=True, help="the folder `broker init` wrote")
    run.set_defaults(func=run_broker)

    ca = actions.add_parser(
        "ca",
        help="make a store CA and a server certificate for the TLS listener",
        description="Make a store CA (ca.crt, ca.key) and a broker certificate (server.crt, server.key) for the "
        "given host names and addresses. Clients need only ca.crt.\n\n"
        "Example: staffcall broker ca --out /etc/staffcall/tls --host hub.local --host 192.168.1.10",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ca.add_argument("--out", required=True, help="folder for the certificates and keys")
    ca.add_argument("--host", action="append", default=[], help="a name or address clients dial (repeatable)")
    ca.set_defaults(func=run_ca)
    broker.set_defaults(func=lambda args: broker.print_help() or 2)


def run_init(args: argparse.Namespace) -> int:
    from broker.contract.credentials import load
    from broker.mosquitto.setup import write_setup

    cfg = load_config(args.config)
    setup = write_setup(cfg, Path(args.out), Path(args.data_dir) if args.data_dir else None, run_as=args.user)
    n = len(load(setup.credentials))
    print(f"wrote {setup.conf}, {setup.acl}, {setup.passwd} and {setup.credentials} ({n} logins)")
    if setup.account:
        print(f"Mosquitto runs as {setup.account}: it owns the data folder and reads passwd and acl through its group")
    print(
        f'next: set [broker] credentials = "{setup.credentials}" in {args.config}; then staffcall broker run '
        f"--dir {setup.folder}"
    )
    return 0


def run_broker(args: argparse.Namespace) -> int:
    from broker.mosquitto.runner import mosquitto_binary
    from broker.mosquitto.setup import grant_access

    conf = Path(args.dir) / "mosquitto.conf"
    if not conf.exists():
        raise ConfigError(f"{conf}: no such file; run `staffcall broker init --out {args.dir}` first")
    binary = mosquitto_binary()
    if not binary:
        raise ConfigError("mosquitto is not installed: sudo apt-get install mosquitto")
    grant_access(conf)  # a data folder recreated by hand, or by root, would make every save fail
    os.execv(binary, [binary, "-c", str(conf)])
    return 0  # not reached


def run_ca(args: argparse.Namespace) -> int:
    from broker.mosquitto.ca import make_store_ca

    hosts = args.host or ["localhost", "127.0.0.1"]
    paths = make_store_ca(Path(args.out), hosts)
    print(f"wrote {paths.ca} (give to every client), {paths.cert} and {paths.key} (the broker's), {paths.ca_key}")
    print(f'next: in [broker] set ca = "{paths.ca}", cert = "{paths.cert}", key = "{paths.key}"')
    return 0
