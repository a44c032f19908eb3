# file: tnauth_client.py
"""Minimal ACME (RFC 8555) client for a TNAuthList / tkauth-01 order (RFC 9447/9448).
Usage: python tnauth_client.py [DIRECTORY_URL] [SPC] [OUT_PEM]   -- needs only `cryptography`."""
import base64, hashlib, json, sys, time, urllib.error, urllib.request
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

TNAUTH_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.26")
b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def tnauthlist_der(spc: str) -> bytes:  # SEQUENCE { [0] EXPLICIT IA5String spc }  (spc < 124 chars)
    ia5 = b"\x16" + bytes([len(spc)]) + spc.encode()
    tagged = b"\xa0" + bytes([len(ia5)]) + ia5
    return b"\x30" + bytes([len(tagged)]) + tagged

def es256(key, data: bytes) -> bytes:  # JWS ES256 = raw r||s, 32 bytes each
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")

class Acme:
    def __init__(self, directory_url):
        self.key = ec.generate_private_key(ec.SECP256R1())
        n = self.key.public_key().public_numbers()
        self.jwk = {"crv": "P-256", "kty": "EC", "x": b64u(n.x.to_bytes(32, "big")),
                    "y": b64u(n.y.to_bytes(32, "big"))}
        self.dir = json.load(urllib.request.urlopen(directory_url))
        self.kid, self.nonce = None, None

    def http(self, req):
        try:
            resp = urllib.request.urlopen(req)
        except urllib.error.HTTPError as err:  # ACME problem documents arrive as 4xx/5xx
            resp = err
        body = resp.read()
        self.nonce = resp.headers.get("Replay-Nonce") or self.nonce
        return resp.status, resp.headers, body

    def post(self, url, payload):  # payload None => POST-as-GET (empty payload)
        if not self.nonce:
            self.http(urllib.request.Request(self.dir["newNonce"], method="HEAD"))
        prot = {"alg": "ES256", "nonce": self.nonce, "url": url}
        prot.update({"kid": self.kid} if self.kid else {"jwk": self.jwk})
        p64 = b64u(json.dumps(prot).encode())
        pl64 = "" if payload is None else b64u(json.dumps(payload).encode())
        body = json.dumps({"protected": p64, "payload": pl64,
                           "signature": b64u(es256(self.key, f"{p64}.{pl64}".encode()))})
        req = urllib.request.Request(url, data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/jose+json"})
        status, headers, raw = self.http(req)
        ctype = headers.get("Content-Type", "")
        data = json.loads(raw) if "json" in ctype and raw else raw.decode()
        print(f"POST {url} -> {status} {ctype}\n  {data if isinstance(data, dict) else data[:80]!r}")
        return status, headers, data

    def fingerprint(self):  # RFC 9448 style; hash input here = DER SubjectPublicKeyInfo
        spki = self.key.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
        return "SHA256 " + ":".join(f"{b:02X}" for b in hashlib.sha256(spki).digest())

def fake_atc(tkvalue, fingerprint):  # unsigned-by-STI-PA stand-in; acme2certifier does not verify it
    key = ec.generate_private_key(ec.SECP256R1())
    hdr = {"alg": "ES256", "typ": "JWT", "x5u": "https://sti-pa.invalid/cert.crt"}
    pl = {"exp": int(time.time()) + 300, "jti": "test-jti-1", "atc": {
          "tktype": "TNAuthList", "tkvalue": tkvalue, "ca": False, "fingerprint": fingerprint}}
    si = b64u(json.dumps(hdr).encode()) + "." + b64u(json.dumps(pl).encode())
    return si + "." + b64u(es256(key, si.encode()))

def poll(acme, url, until, tries=30):
    for _ in range(tries):
        _, _, obj = acme.post(url, None)
        if obj.get("status") in until:
            return obj
        time.sleep(1)
    raise SystemExit(f"timeout polling {url}")

def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:18080/directory"
    spc = sys.argv[2] if len(sys.argv) > 2 else "1234"
    out = sys.argv[3] if len(sys.argv) > 3 else "chain.pem"
    tn_der = tnauthlist_der(spc)
    tkvalue = base64.b64encode(tn_der).decode()  # standard base64 WITH padding (must match CSR)
    acme = Acme(directory)
    st, h, _ = acme.post(acme.dir["newAccount"], {"termsOfServiceAgreed": True,
                                                   "contact": ["mailto:test@example.org"]})
    assert st in (200, 201), st
    acme.kid = h["Location"]
    st, h, order = acme.post(acme.dir["newOrder"],
                             {"identifiers": [{"type": "TNAuthList", "value": tkvalue}]})
    assert st == 201, order
    order_url = h["Location"]
    for authz_url in order["authorizations"]:
        _, _, authz = acme.post(authz_url, None)
        chall = next(c for c in authz["challenges"] if c["type"] == "tkauth-01")
        acme.post(chall["url"], {"atc": fake_atc(tkvalue, acme.fingerprint())})
        if poll(acme, authz_url, ("valid", "invalid"))["status"] != "valid":
            raise SystemExit("authorization invalid")
    poll(acme, order_url, ("ready",))
    cert_key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"SHAKEN {spc}")]))
           .add_extension(x509.UnrecognizedExtension(TNAUTH_OID, tn_der), critical=False)
           .sign(cert_key, hashes.SHA256()))
    st, _, order = acme.post(order["finalize"],
                             {"csr": b64u(csr.public_bytes(serialization.Encoding.DER))})
    order = poll(acme, order_url, ("valid", "invalid"))
    assert order["status"] == "valid", order
    _, h, chain = acme.post(order["certificate"], None)
    open(out, "w").write(chain)
    print("chain written to", out, "content-type", h.get("Content-Type"))

if __name__ == "__main__":
    main()
