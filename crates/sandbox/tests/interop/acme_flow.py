#!/usr/bin/env python3
"""Interop client for the Stirling sandbox, written independently of the Rust code.

Gets an SPC token from the sandbox STI-PA with plain HTTP (urllib), then a SHAKEN certificate
from the sandbox STI-CA with hand-built ACME JWS (RFC 8555 flattened JSON, ES256 via Python
`cryptography`), and checks the result with `cryptography`: the leaf verifies under the
intermediate, carries the TNAuthList for the SPC, and CN is "SHAKEN <SPC>". Finally it
revokes the certificate and checks the STI-PA's indirect CRL: signed by the CRL signer named
in its AIA, that signer issued by the PA root, indirect, listing the serial with
certificateIssuer = the leaf's issuer and the reason given.

usage: acme_flow.py BASE_URL USER PASSWORD ACCOUNT SPC OUT_CHAIN_PEM
"""

import base64
import hashlib
import json
import sys
import urllib.error
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

TN_AUTH_LIST = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.26")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def tn_auth_list_der(spc: str) -> bytes:
    # TNAuthorizationList ::= SEQUENCE OF TNEntry; spc [0] EXPLICIT IA5String (RFC 8226).
    ia5 = bytes([0x16, len(spc)]) + spc.encode()
    entry = bytes([0xA0, len(ia5)]) + ia5
    return bytes([0x30, len(entry)]) + entry


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def expect(status, wanted, body, what):
    if status != wanted:
        sys.exit(f"{what}: HTTP {status}: {body!r}")


class Acme:
    def __init__(self, directory_url):
        status, _, body = http("GET", directory_url)
        expect(status, 200, body, "directory")
        self.directory = json.loads(body)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.kid = None
        self.nonce = None

    def jwk(self):
        numbers = self.key.public_key().public_numbers()
        return {
            "crv": "P-256",
            "kty": "EC",
            "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big")),
        }

    def spki_fingerprint(self):
        spki = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        digest = hashlib.sha256(spki).hexdigest().upper()
        return "SHA256 " + ":".join(digest[i : i + 2] for i in range(0, 64, 2))

    def new_nonce(self):
        status, headers, body = http("HEAD", self.directory["newNonce"])
        expect(status, 200, body, "newNonce")
        return headers["Replay-Nonce"]

    def post(self, url, payload):
        """payload None: POST-as-GET."""
        nonce = self.nonce or self.new_nonce()
        protected = {"alg": "ES256", "nonce": nonce, "url": url}
        if self.kid:
            protected["kid"] = self.kid
        else:
            protected["jwk"] = self.jwk()
        protected_b64 = b64url(json.dumps(protected).encode())
        payload_b64 = "" if payload is None else b64url(json.dumps(payload).encode())
        der = self.key.sign(f"{protected_b64}.{payload_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        body = json.dumps(
            {
                "protected": protected_b64,
                "payload": payload_b64,
                "signature": b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big")),
            }
        ).encode()
        status, headers, data = http(
            "POST", url, body, {"Content-Type": "application/jose+json"}
        )
        self.nonce = headers.get("Replay-Nonce")
        return status, headers, data


def main():
    base, user, password, account, spc, out = sys.argv[1:7]
    tkvalue = base64.b64encode(tn_auth_list_der(spc)).decode()

    # STI-PA: login, then the SPC token for the ACME account key.
    status, _, body = http(
        "POST",
        f"{base}/api/v1/auth/login",
        json.dumps({"userId": user, "password": password}).encode(),
        {"Content-Type": "application/json"},
    )
    expect(status, 200, body, "login")
    access = json.loads(body)["accessToken"]

    acme = Acme(f"{base}/acme/directory")
    atc = {"tktype": "TNAuthList", "tkvalue": tkvalue, "ca": False,
           "fingerprint": acme.spki_fingerprint()}
    status, _, body = http(
        "POST",
        f"{base}/api/v1/account/{account}/token",
        json.dumps({"atc": atc}).encode(),
        {"Content-Type": "application/json", "Authorization": access},
    )
    expect(status, 200, body, "SPC token")
    token = json.loads(body)["token"]
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["atc"] == atc, claims

    # STI-CA: account, order, tkauth-01, finalize, download.
    status, headers, body = acme.post(
        acme.directory["newAccount"], {"termsOfServiceAgreed": True}
    )
    expect(status, 201, body, "newAccount")
    acme.kid = headers["Location"]
    status, headers, body = acme.post(
        acme.directory["newOrder"],
        {"identifiers": [{"type": "TNAuthList", "value": tkvalue}]},
    )
    expect(status, 201, body, "newOrder")
    order_url, order = headers["Location"], json.loads(body)
    status, _, body = acme.post(order["authorizations"][0], None)
    expect(status, 200, body, "authorization")
    challenge = next(c for c in json.loads(body)["challenges"] if c["type"] == "tkauth-01")
    assert challenge["tkauth-type"] == "atc", challenge
    status, _, body = acme.post(challenge["url"], {"atc": token})
    expect(status, 200, body, "challenge")
    if json.loads(body)["status"] != "valid":
        sys.exit(f"challenge not valid: {body!r}")

    cert_key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Interop Telco"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"SHAKEN {spc}"),
        ]))
        .add_extension(x509.UnrecognizedExtension(TN_AUTH_LIST, tn_auth_list_der(spc)), False)
        .sign(cert_key, hashes.SHA256())
    )
    status, _, body = acme.post(
        order["finalize"], {"csr": b64url(csr.public_bytes(serialization.Encoding.DER))}
    )
    expect(status, 200, body, "finalize")
    status, _, body = acme.post(order_url, None)
    order = json.loads(body)
    if order["status"] != "valid":
        sys.exit(f"order not valid: {order}")
    status, headers, chain = acme.post(order["certificate"], None)
    expect(status, 200, chain, "certificate")
    assert headers["Content-Type"] == "application/pem-certificate-chain", headers

    leaf, intermediate = x509.load_pem_x509_certificates(chain)
    leaf.verify_directly_issued_by(intermediate)
    assert leaf.public_key() == cert_key.public_key()
    ext = leaf.extensions.get_extension_for_oid(TN_AUTH_LIST)
    assert not ext.critical and ext.value.value == tn_auth_list_der(spc), ext
    cn = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == f"SHAKEN {spc}", cn
    with open(out, "wb") as f:
        f.write(chain)

    # Revoke it and find it in the STI-PA's indirect CRL, checked with `cryptography`.
    status, _, body = acme.post(
        acme.directory["revokeCert"],
        {"certificate": b64url(leaf.public_bytes(serialization.Encoding.DER)), "reason": 4},
    )
    expect(status, 200, body, "revokeCert")
    status, _, der = http("GET", f"{base}/download/v1/crl")
    expect(status, 200, der, "CRL")
    crl = x509.load_der_x509_crl(der)
    aia = crl.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    signer_url = next(d.access_location.value for d in aia
                      if d.access_method == x509.oid.AuthorityInformationAccessOID.CA_ISSUERS)
    signer = x509.load_pem_x509_certificate(http("GET", signer_url)[2])
    status, _, root = http("GET", f"{base}/download/v1/certificate/sandbox-sti-pa-root.crt")
    signer.verify_directly_issued_by(x509.load_pem_x509_certificate(root))
    assert crl.is_signature_valid(signer.public_key()), "CRL signature"
    assert crl.issuer == signer.subject, crl.issuer
    idp = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
    assert idp.indirect_crl and idp.full_name[0].value == f"{base}/download/v1/crl", idp
    entry = crl.get_revoked_certificate_by_serial_number(leaf.serial_number)
    assert entry is not None, "revoked serial not in the CRL"
    issuer = entry.extensions.get_extension_for_class(x509.CertificateIssuer).value
    assert list(issuer) == [x509.DirectoryName(leaf.issuer)], issuer
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason == x509.ReasonFlags.superseded, reason
    print(f"OK serial={leaf.serial_number:x} subject={leaf.subject.rfc4514_string()} revoked")


if __name__ == "__main__":
    main()
