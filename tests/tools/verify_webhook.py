#!/usr/bin/env python3
"""Verifies a Standard Webhooks delivery from idverifd with Python `cryptography`,
independently of our code: the `v1a` Ed25519 signature over
"{webhook-id}.{webhook-timestamp}.{body}", checked with the JWKS key that
`webhook-key-id` names, and the timestamp within five minutes of now.

usage: verify_webhook.py JWKS_FILE DELIVERY_FILE
DELIVERY_FILE is JSON: {"headers": {name: value}, "body": "<the raw body>"}.
Prints the body as JSON; exits 1 if anything does not check out.
"""
import base64
import json
import sys
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TOLERANCE_SECONDS = 300


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def main() -> int:
    jwks_path, delivery_path = sys.argv[1:3]
    with open(jwks_path) as f:
        keys = json.load(f)["keys"]
    with open(delivery_path) as f:
        delivery = json.load(f)
    headers = {k.lower(): v for k, v in delivery["headers"].items()}
    body = delivery["body"].encode()
    msg_id, timestamp, kid = headers["webhook-id"], headers["webhook-timestamp"], headers["webhook-key-id"]
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        print(f"timestamp {timestamp} is too far from now", file=sys.stderr)
        return 1
    matching = [k for k in keys if k.get("kid") == kid and k.get("kty") == "OKP" and k.get("crv") == "Ed25519"]
    if not matching:
        print(f"no Ed25519 key {kid!r} in the JWKS", file=sys.stderr)
        return 1
    public = Ed25519PublicKey.from_public_bytes(b64url(matching[0]["x"]))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    # The header may carry several space-separated signatures; one valid v1a suffices.
    for entry in headers["webhook-signature"].split():
        version, _, signature = entry.partition(",")
        if version != "v1a":
            continue
        try:
            public.verify(base64.b64decode(signature), signed)
        except InvalidSignature:
            continue
        print(json.dumps(json.loads(body)))
        return 0
    print("no v1a signature verifies", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
