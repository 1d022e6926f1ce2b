#!/usr/bin/env python3
"""Smoke-test a running mmCAT site through its API, as a pipeline would: ingest a dataset, upload
a file, submit a processing job and wait until a worker has finished it.

    deploy/smoke-test.py URL TOKEN SESSION_ID [--task core.parse_attachment] [--file FILE]

Exits 0 when the job succeeded, 1 otherwise (with the job's error and log). Standard library
only, so it runs from any machine that can reach the site.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path


def call(base, token, method, path, body=None, headers=None, raw=None, content_type=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(base.rstrip("/") + path, data=data, method=method)
    request.add_header("Authorization", f"Token {token}")
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", content_type or "application/json")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def multipart(fields: dict[str, str], file_field: str, path: Path) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     f"{value}\r\n".encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
                 f'filename="{path.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                 .encode() + path.read_bytes() + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def expect(status, body, wanted, what):
    if status not in wanted:
        sys.exit(f"smoke-test: {what} answered {status}: {body}")
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("token")
    parser.add_argument("session", type=int)
    parser.add_argument("--technique", default="mx")
    parser.add_argument("--task", default="core.parse_attachment")
    parser.add_argument("--file", type=Path, required=True, help="a file a parser reads")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    name = f"smoke-{uuid.uuid4().hex[:8]}"
    key = str(uuid.uuid4())
    body = {"datasets": [{"session": args.session, "technique": args.technique, "name": name}]}
    created = expect(*call(args.url, args.token, "POST", "/api/v1/ingest/", body,
                           headers={"Idempotency-Key": key}), {201}, "ingest")
    replay = expect(*call(args.url, args.token, "POST", "/api/v1/ingest/", body,
                          headers={"Idempotency-Key": key}), {200}, "ingest retry")
    if replay["datasets"] != created["datasets"]:
        sys.exit("smoke-test: a retried ingest did not return the first answer")
    dataset = created["datasets"][0]["id"]
    raw, content_type = multipart({"dataset": str(dataset), "kind": "result"}, "file", args.file)
    attachment = expect(*call(args.url, args.token, "POST", "/api/v1/attachments/", raw=raw,
                              content_type=content_type), {201}, "attachment upload")
    job = expect(*call(args.url, args.token, "POST", "/api/v1/jobs/", {
        "session": args.session, "task": args.task, "inputs": [dataset],
        "parameters": {"attachment": attachment["id"]}}), {202}, "job submission")
    deadline = time.monotonic() + args.timeout
    while job["state"] not in ("succeeded", "failed") and time.monotonic() < deadline:
        time.sleep(1)
        job = expect(*call(args.url, args.token, "GET", f"/api/v1/jobs/{job['id']}/"), {200},
                     "job status")
    print(f"smoke-test: job {job['id']} ({args.task}) {job['state']}; result: "
          f"{json.dumps(job.get('result'))[:300]}")
    if job["state"] != "succeeded":
        sys.exit(f"smoke-test: job did not succeed: {job.get('error')}\n{job.get('log')}")


if __name__ == "__main__":
    main()
