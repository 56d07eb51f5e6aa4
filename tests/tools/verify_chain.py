#!/usr/bin/env python3
"""Verifies an idverifd result by its x5c chain with libraries independent of ours:
`cryptography` walks the chain to the root, `joserfc` checks the signature with
the leaf's key.

usage: verify_chain.py ROOT_PEM JWS_FILE EXPECTED_NONCE
Prints the leaf's subject and the payload as JSON; exits 1 if anything does not check out.
"""
import base64
import datetime
import json
import sys

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey
from joserfc.jws import JWSRegistry

# joserfc refuses headers over 512 bytes by default; a header that carries a
# certificate chain is larger, so a verifier that accepts x5c raises the limit.
REGISTRY = JWSRegistry(algorithms=["EdDSA"])
REGISTRY.max_header_length = 8192


def main() -> int:
    root_path, jws_path, nonce = sys.argv[1:4]
    with open(root_path, "rb") as f:
        root = x509.load_pem_x509_certificate(f.read())
    with open(jws_path) as f:
        token = f.read().strip()
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in header.get("x5c", [])]
    if not chain:
        print("no x5c in the header", file=sys.stderr)
        return 1
    now = datetime.datetime.now(datetime.timezone.utc)
    signers = chain[1:] + ([] if chain[-1] == root else [root])
    for cert, issuer in zip(chain, signers):
        if not (cert.not_valid_before_utc <= now <= cert.not_valid_after_utc):
            print(f"{cert.subject.rfc4514_string()} not valid now", file=sys.stderr)
            return 1
        try:
            cert.verify_directly_issued_by(issuer)
        except Exception as e:  # noqa: BLE001 - any failure is a refusal
            print(f"{cert.subject.rfc4514_string()} not issued by {issuer.subject.rfc4514_string()}: {e!r}", file=sys.stderr)
            return 1
    leaf_key = chain[0].public_key()
    if not isinstance(leaf_key, Ed25519PublicKey):
        print("the leaf's key is not Ed25519", file=sys.stderr)
        return 1
    key = OKPKey.import_key(leaf_key)
    try:
        obj = jws.deserialize_compact(token, key, algorithms=["EdDSA"], registry=REGISTRY)
    except JoseError as e:
        print(f"signature check failed: {e!r}", file=sys.stderr)
        return 1
    payload = json.loads(obj.payload)
    if payload.get("nonce") != nonce:
        print("nonce does not match the request", file=sys.stderr)
        return 1
    print(json.dumps({"leaf": chain[0].subject.rfc4514_string(), "payload": payload}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
