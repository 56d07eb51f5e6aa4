#!/usr/bin/env python3
"""Checks every logged API response against the OpenAPI document.

Usage: check_responses.py OPENAPI.json RESPONSES.jsonl

RESPONSES.jsonl is what the daemon writes with IDVERIFD_RESPONSE_LOG: one line per
response ({method, route, status, content_type, body | body_bytes}) or per
Server-Sent Event ({method, route, sse_data}). A response must be documented for
its route, method and status, in its content type, and its JSON body must match the
schema (JSON Schema 2020-12, as OpenAPI 3.1 uses, with the `jsonschema` package).
A request that matched no route must still get the error shape. Prints a summary
line on stdout; every violation on stderr; exit 1 if any.
"""
import json
import sys

from jsonschema import Draft202012Validator, FormatChecker


def pointer(*parts):
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def main(doc_path, log_path):
    doc = json.load(open(doc_path))
    # The whole document as the root resource, so "#/components/..." refs resolve.
    root = {k: v for k, v in doc.items() if k in ("components", "paths")}

    def validate(ref, instance):
        schema = dict(root, **{"$ref": ref})
        return [e.message for e in Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(instance)]

    checked, problems, events = 0, [], 0
    for n, line in enumerate(open(log_path), 1):
        if not line.strip():
            continue
        r = json.loads(line)
        where = f"line {n}: {r['method']} {r.get('route')}"
        if r.get("route") is None:
            # The router's own 404/405: the error shape, nothing else.
            if "body" in r and r["status"] >= 400:
                for m in validate(pointer("components", "schemas", "ErrorBody"), r["body"]):
                    problems.append(f"{where} {r['status']}: {m}")
            elif r["status"] < 400:
                problems.append(f"{where}: {r['status']} from no route")
            checked += 1
            continue
        operation = doc["paths"].get(r["route"], {}).get(r["method"].lower())
        if operation is None and r.get("status") == 405:
            # A documented path with a method it does not have: the error shape.
            for m in validate(pointer("components", "schemas", "ErrorBody"), r.get("body")):
                problems.append(f"{where} 405: {m}")
            checked += 1
            continue
        if operation is None:
            problems.append(f"{where}: route and method not in the document")
            continue
        if "sse_data" in r:
            events += 1
            stream = doc["paths"][r["route"]]["get"]["responses"]["200"]["content"]["text/event-stream"]
            ref = stream["schema"]["properties"]["data"]["contentSchema"]["$ref"]
            for m in validate(ref, r["sse_data"]):
                problems.append(f"{where} event {json.dumps(r['sse_data'])[:200]}: {m}")
            continue
        checked += 1
        status = str(r["status"])
        response = operation["responses"].get(status) or operation["responses"].get(status[0] + "XX") or operation["responses"].get("default")
        if response is None:
            problems.append(f"{where}: status {status} not documented ({', '.join(operation['responses'])})")
            continue
        media = r["content_type"].split(";")[0].strip()
        content = response.get("content", {})
        if not content:
            if r.get("body_bytes") or r.get("body") is not None:
                problems.append(f"{where} {status}: a body where the document has none")
            continue
        if media not in content:
            problems.append(f"{where} {status}: content type {media!r}, documented {list(content)}")
            continue
        if "body" in r:
            ref = pointer("paths", r["route"], r["method"].lower(), "responses", status, "content", media, "schema")
            for m in validate(ref, r["body"]):
                problems.append(f"{where} {status}: {m}")
    for p in problems:
        print(p, file=sys.stderr)
    print(f"{checked} responses and {events} events checked against the OpenAPI document: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
