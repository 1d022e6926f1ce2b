"""A fake OpenID Connect provider for tests: a real HTTP server on 127.0.0.1 in a thread.

It implements the authorization code flow the way Keycloak does, with nothing to click:

* ``GET /authorize``: checks the client and the request, remembers nonce, redirect URI and PKCE
  challenge under a fresh code, and answers 302 to ``redirect_uri?code=...&state=...``;
* ``POST /token``: checks client secret, code, redirect URI and PKCE verifier, and returns an
  access token and an RS256-signed ID token (``kid`` in the header, ``aud`` = client id);
* ``GET /userinfo``: the claims, for ``Authorization: Bearer <access token>``;
* ``GET /jwks``: the public key.

``provider.user`` holds the claims of whoever "signs in" next; ``provider.requests`` records each
request as ``(method, path)``. Use it as a context manager::

    with FakeOIDCProvider(client_id="mmcat", client_secret="s3cret") as provider:
        settings.OIDC_OP_TOKEN_ENDPOINT = provider.url("/token")
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


class FakeOIDCProvider:
    def __init__(self, client_id: str = "mmcat", client_secret: str = "s3cret"):
        self.client_id = client_id
        self.client_secret = client_secret
        self.kid = "fake-key-1"
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.user: dict = {"sub": "0f5e7c1a-0000-4000-8000-000000000001",
                           "preferred_username": "ada", "given_name": "Ada",
                           "family_name": "Lovelace", "email": "ada@facility.example",
                           "email_verified": True}
        self.id_token_overrides: dict = {}  # e.g. {"aud": "someone-else"} to test refusal
        self.codes: dict[str, dict] = {}
        self.access_tokens: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> FakeOIDCProvider:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> FakeOIDCProvider:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def settings(self) -> dict:
        """The mmCAT settings that point at this provider."""
        return {
            "OIDC_RP_CLIENT_ID": self.client_id,
            "OIDC_RP_CLIENT_SECRET": self.client_secret,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": self.url("/authorize"),
            "OIDC_OP_TOKEN_ENDPOINT": self.url("/token"),
            "OIDC_OP_USER_ENDPOINT": self.url("/userinfo"),
            "OIDC_OP_JWKS_ENDPOINT": self.url("/jwks"),
            "OIDC_RP_SIGN_ALGO": "RS256",
        }

    # --- protocol -----------------------------------------------------------------------------
    def authorize(self, query: dict) -> tuple[int, dict, bytes]:
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            return self.error(400, "unauthorized_client")
        if "openid" not in query.get("scope", "").split() or not query.get("redirect_uri"):
            return self.error(400, "invalid_request")
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "redirect_uri": query["redirect_uri"], "nonce": query.get("nonce"),
            "challenge": query.get("code_challenge"),
            "method": query.get("code_challenge_method", "plain"), "user": dict(self.user),
        }
        location = query["redirect_uri"] + "?" + urlencode({"code": code,
                                                             "state": query.get("state", "")})
        return 302, {"Location": location}, b""

    def token(self, form: dict) -> tuple[int, dict, bytes]:
        if (form.get("client_id"), form.get("client_secret")) != (self.client_id,
                                                                   self.client_secret):
            return self.error(401, "invalid_client")
        grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if form.get("grant_type") != "authorization_code" or grant is None:
            return self.error(400, "invalid_grant")
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return self.error(400, "invalid_grant")
        if grant["challenge"] and not self._pkce_ok(form.get("code_verifier"), grant):
            return self.error(400, "invalid_grant")
        now = int(time.time())
        claims = {**grant["user"], "iss": self.url(""), "aud": self.client_id, "iat": now,
                  "exp": now + 300, "nonce": grant["nonce"], **self.id_token_overrides}
        claims = {k: v for k, v in claims.items() if v is not None}
        id_token = jwt.encode(claims, self.private_key, algorithm="RS256",
                              headers={"kid": self.kid})
        access_token = secrets.token_urlsafe(24)
        self.access_tokens[access_token] = grant["user"]
        body = {"access_token": access_token, "token_type": "Bearer", "expires_in": 300,
                "id_token": id_token}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def userinfo(self, authorization: str) -> tuple[int, dict, bytes]:
        scheme, _, token = authorization.partition(" ")
        user = self.access_tokens.get(token) if scheme.lower() == "bearer" else None
        if user is None:
            return self.error(401, "invalid_token")
        return 200, {"Content-Type": "application/json"}, json.dumps(user).encode()

    def jwks(self) -> tuple[int, dict, bytes]:
        key = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        key.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return 200, {"Content-Type": "application/json"}, json.dumps({"keys": [key]}).encode()

    def error(self, status: int, code: str) -> tuple[int, dict, bytes]:
        self.errors.append(code)
        return status, {"Content-Type": "application/json"}, json.dumps({"error": code}).encode()

    @staticmethod
    def _pkce_ok(verifier: str | None, grant: dict) -> bool:
        if not verifier:
            return False
        if grant["method"] == "S256":
            digest = hashlib.sha256(verifier.encode()).digest()
            return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == grant["challenge"]
        return verifier == grant["challenge"]


def _handler(provider: FakeOIDCProvider):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urlsplit(self.path)
            provider.requests.append(("GET", url.path))
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/authorize":
                self.answer(*provider.authorize(query))
            elif url.path == "/userinfo":
                self.answer(*provider.userinfo(self.headers.get("Authorization", "")))
            elif url.path == "/jwks":
                self.answer(*provider.jwks())
            else:
                self.answer(*provider.error(404, "not_found"))

        def do_POST(self):
            url = urlsplit(self.path)
            provider.requests.append(("POST", url.path))
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if url.path == "/token":
                self.answer(*provider.token(form))
            else:
                self.answer(*provider.error(404, "not_found"))

        def answer(self, status, headers, body):
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # keep the test output quiet
            pass

    return Handler
