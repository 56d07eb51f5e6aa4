#!/usr/bin/env python3
"""Verifies an idverifd result with joserfc, a JOSE library independent of ours.

usage: verify_jws.py JWKS_FILE JWS_FILE EXPECTED_NONCE
Prints the header and payload as JSON; exits 1 if anything does not check out.
"""
import json
import sys

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet


def main() -> int:
    jwks_path, jws_path, nonce = sys.argv[1:4]
    with open(jwks_path) as f:
        key_set = KeySet.import_key_set(json.load(f))
    with open(jws_path) as f:
        token = f.read().strip()
    try:
        obj = jws.deserialize_compact(token, key_set, algorithms=["EdDSA"])
    except JoseError as e:
        print(f"signature check failed: {e!r}", file=sys.stderr)
        return 1
    header = obj.protected
    payload = json.loads(obj.payload)
    problems = []
    if header.get("typ") != "idverif+jws":
        problems.append(f"typ is {header.get('typ')!r}")
    if payload.get("nonce") != nonce:
        problems.append("nonce does not match the request")
    if problems:
        print("; ".join(problems), file=sys.stderr)
        return 1
    print(json.dumps({"header": header, "payload": payload}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
