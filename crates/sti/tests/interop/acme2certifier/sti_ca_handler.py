# file: sti_ca_handler.py
# -*- coding: utf-8 -*-
"""Tiny test-only CA handler for acme2certifier: signs the CSR with a local CA and copies the
CSR's TNAuthList extension (1.3.6.1.5.5.7.1.26) into a SHAKEN-style end-entity certificate.
Written for local testing of an ACME client; it does no policy checks of its own."""
import base64
import datetime
import os
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from acme2certifier.acme_srv.helper import load_config

TNAUTH_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.26")


def _b64any(text):  # base64 or base64url, padded or not
    return base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4))


class CAhandler(object):
    """CA handler interface expected by acme2certifier (enroll/poll/revoke/trigger)."""

    def __init__(self, _debug=None, logger=None):
        self.logger = logger
        self.cfg = None

    def __enter__(self):
        if not self.cfg:
            self.cfg = load_config(self.logger, "CAhandler")["CAhandler"]
        return self

    def __exit__(self, *args):
        pass

    def handler_check(self):
        for key in ("issuing_ca_key", "issuing_ca_cert"):
            if not self.cfg.get(key):
                return f"{key} missing in [CAhandler]"
        return None

    def enroll(self, csr):
        try:
            req = x509.load_der_x509_csr(_b64any(csr))
            with open(self.cfg["issuing_ca_key"], "rb") as fso:
                ca_key = serialization.load_pem_private_key(fso.read(), password=None)
            with open(self.cfg["issuing_ca_cert"], "rb") as fso:
                ca_pem = fso.read()
            ca_cert = x509.load_pem_x509_certificate(ca_pem)
            now = datetime.datetime.now(datetime.timezone.utc)
            days = int(self.cfg.get("cert_validity_days", "30"))
            builder = (
                x509.CertificateBuilder()
                .subject_name(req.subject)
                .issuer_name(ca_cert.subject)
                .public_key(req.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now)
                .not_valid_after(now + datetime.timedelta(days=days))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(req.public_key()), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)
            )
            policy = self.cfg.get("policy_oid", "2.16.840.1.114569.1.1.3")
            if policy:
                builder = builder.add_extension(x509.CertificatePolicies(
                    [x509.PolicyInformation(x509.ObjectIdentifier(policy), None)]), critical=False)
            for ext in req.extensions:
                if ext.oid == TNAUTH_OID:  # copied byte-for-byte from the CSR
                    builder = builder.add_extension(ext.value, critical=False)
            cert = builder.sign(ca_key, hashes.SHA256())
            leaf_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
            raw = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
            return (None, leaf_pem + ca_pem.decode(), raw, None)
        except Exception as err:  # pylint: disable=broad-except
            self.logger.error("sti_ca_handler enrollment failed: %s", err)
            return ("urn:ietf:params:acme:error:badCSR", None, None, None)

    def poll(self, _cert_name, poll_identifier, _csr):
        return ("Method not implemented.", None, None, poll_identifier, False)

    def revoke(self, cert, _rev_reason=None, _rev_date=None):
        """Test-only: records the serial in revoked.txt next to the CA cert; no CRL is produced."""
        if "BEGIN" in cert:
            leaf = x509.load_pem_x509_certificate(cert.encode())
        else:
            leaf = x509.load_der_x509_certificate(_b64any(cert))
        serial = f"{leaf.serial_number:x}"
        path = os.path.join(os.path.dirname(self.cfg["issuing_ca_cert"]), "revoked.txt")
        known = open(path, encoding="ascii").read().split() if os.path.exists(path) else []
        if serial in known:
            return (400, "urn:ietf:params:acme:error:alreadyRevoked", "Certificate has already been revoked")
        with open(path, "a", encoding="ascii") as fso:
            fso.write(serial + "\n")
        return (200, None, None)

    def trigger(self, _payload):
        return ("Method not implemented.", None, None)
