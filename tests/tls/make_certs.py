#!/usr/bin/env python3
"""Test certificates for the FastAGI-over-TLS tests.

Usage: python3 tests/tls/make_certs.py OUTDIR

Writes PEM files (EC P-256 keys, unencrypted PKCS8) into OUTDIR:
  ca.pem / ca.key                      the test CA ("res_agi_rs test CA")
  server.pem / server.key              localhost, signed by ca (the good case)
  other-ca.pem / other-ca.key          a second, unrelated CA
  other-server.pem / other-server.key  localhost, signed by other-ca (wrong CA)
  wrongname.pem / wrongname.key        wrong.example.net, signed by ca (name mismatch)
  expired.pem / expired.key            localhost, signed by ca, expired 2 days ago
  service.pem / service.key            hagi.test (an SRV service name), signed by ca
  client.pem / client.key              asterisk-client, signed by ca (mutual TLS)
"""
import datetime
import ipaddress
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)
LOCALHOST_SAN = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name(cn))
        .issuer_name(name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + 3650 * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def make_leaf(ca, cn, sans, usage, start, end):
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(cn))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def write(outdir, base, pair, written):
    cert, key = pair
    pem = os.path.join(outdir, base + ".pem")
    with open(pem, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    keyfile = os.path.join(outdir, base + ".key")
    # Plain umask permissions: test keys only, and a test may run Asterisk as another user.
    with open(keyfile, "wb") as f:
        f.write(key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ))
    written += [pem, keyfile]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_certs.py OUTDIR")
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    server, client = ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH
    written = []

    ca = make_ca("res_agi_rs test CA")
    other_ca = make_ca("res_agi_rs other test CA")
    write(outdir, "ca", ca, written)
    write(outdir, "server", make_leaf(ca, "localhost", LOCALHOST_SAN, server, NOW - DAY, NOW + 365 * DAY), written)
    write(outdir, "other-ca", other_ca, written)
    write(outdir, "other-server",
          make_leaf(other_ca, "localhost", LOCALHOST_SAN, server, NOW - DAY, NOW + 365 * DAY), written)
    write(outdir, "wrongname",
          make_leaf(ca, "wrong.example.net", [x509.DNSName("wrong.example.net")], server,
                    NOW - DAY, NOW + 365 * DAY), written)
    write(outdir, "expired",
          make_leaf(ca, "localhost", LOCALHOST_SAN, server, NOW - 30 * DAY, NOW - 2 * DAY), written)
    # The service name of hagis://hagi.test (the name verified under SRV), not its targets'.
    write(outdir, "service",
          make_leaf(ca, "hagi.test", [x509.DNSName("hagi.test")], server, NOW - DAY, NOW + 365 * DAY), written)
    write(outdir, "client", make_leaf(ca, "asterisk-client", None, client, NOW - DAY, NOW + 365 * DAY), written)

    for path in written:
        print(path)


if __name__ == "__main__":
    main()
