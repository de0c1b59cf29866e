"""A store CA and a broker server certificate, for tests, demos and small stores.

A store that has its own PKI uses that; this makes a self-contained one with the
``cryptography`` package (no openssl command lines to get subtly wrong): a CA valid for
ten years and a server certificate for the hub machine's names and addresses, signed by it.
Clients get only ``ca.crt``; ``ca.key`` stays off the store network.

In a store::

    paths = make_store_ca(Path("/etc/staffcall/tls"), hosts=["hub.local", "192.168.1.10"])
    # [broker] ca = paths.ca, cert = paths.cert, key = paths.key

Example::

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> paths = make_store_ca(folder, hosts=["hub.local", "192.168.1.10"])
    >>> sorted(p.name for p in folder.iterdir())
    ['ca.crt', 'ca.key', 'server.crt', 'server.key']
    >>> oct(paths.key.stat().st_mode & 0o777)
    '0o600'
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from broker.contract.credentials import write_private


@dataclass
class CaPaths:
    ca: Path
    ca_key: Path
    cert: Path
    key: Path


def make_store_ca(folder: Path, hosts: list[str], store: str = "staffcall", days: int = 3650) -> CaPaths:
    """Write ca.crt, ca.key, server.crt, server.key (keys mode 0600) into ``folder``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    until = now + dt.timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{store} store CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # key_cert_sign, crl_sign
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0] if hosts else "staffcall-broker")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = CaPaths(folder / "ca.crt", folder / "ca.key", folder / "server.crt", folder / "server.key")

    def pem_key(k) -> str:
        return k.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    write_private(paths.ca_key, pem_key(ca_key))
    write_private(paths.key, pem_key(key))
    return paths
