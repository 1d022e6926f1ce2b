"""Is the mmCAT web server answering? Exit 0 if it does, 1 if not.

    python deploy/healthcheck.py [URL]        (default http://127.0.0.1:$PORT/api/v1/)

Any HTTP answer below 500 means "up": without a token /api/v1/ answers 401 or 403. The request
carries the first ALLOWED_HOSTS name as Host (so Django does not log DisallowedHost) and
``X-Forwarded-Proto: https`` (so SECURE_SSL_REDIRECT does not answer with a redirect when
USE_X_FORWARDED_PROTO is on; a redirect would count as up anyway). Redirects are not followed.
Only the standard library is used, so it runs in the image and on a plain host alike.
"""

import http.client
import os
import sys
from urllib.parse import urlsplit


def host_header() -> str | None:
    for name in os.environ.get("ALLOWED_HOSTS", "").split(","):
        name = name.strip().lstrip(".")
        if name and name != "*":
            return name
    return None


def probe(url: str, timeout: float = 5.0) -> int:
    parts = urlsplit(url)
    https = parts.scheme == "https"
    connection = http.client.HTTPSConnection if https else http.client.HTTPConnection
    conn = connection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    headers = {"X-Forwarded-Proto": "https", "Accept": "application/json"}
    host = host_header()
    if host:
        headers["Host"] = host
    try:
        conn.request("GET", parts.path or "/", headers=headers)
        return conn.getresponse().status
    finally:
        conn.close()


def main() -> int:
    port = os.environ.get("PORT", "").strip() or "8000"
    url = sys.argv[1] if len(sys.argv) > 1 else f"http://127.0.0.1:{port}/api/v1/"
    try:
        status = probe(url)
    except (OSError, http.client.HTTPException) as exc:
        print(f"{url}: no answer ({exc})")
        return 1
    print(f"{url}: HTTP {status}")
    return 0 if status < 500 else 1


if __name__ == "__main__":
    sys.exit(main())
