#!/usr/bin/env python3
"""Check that common third-party OAuth 2.0 libraries work with keymint.

Fetches access tokens from a running keymint with the libraries a Python
user would reach for, each used the way its documentation shows:

1. Authlib's OAuth2Session, client_secret_basic (Authlib's default);
2. requests-oauthlib's BackendApplicationClient with OAuth2Session.fetch_token
   and an HTTP Basic ``auth``;
3. Authlib's OAuth2Session, client_secret_post;

then verifies every token with PyJWT's PyJWKClient against the JWKS named by
``jwks_uri`` in /.well-known/oauth-authorization-server: signature, ``iss``,
``aud``, ``exp``, the ``typ`` header ``at+jwt`` (RFC 9068) and the claims
keymint promises.

Usage:
    check.py BASE_URL CLIENT_ID CLIENT_SECRET [--audience AUD]

or set KEYMINT_URL, KEYMINT_CLIENT_ID, KEYMINT_CLIENT_SECRET (and optionally
KEYMINT_AUDIENCE). The audience defaults to the issuer + "/api", keymint's
default. The client must hold at least one scope.

Prints one line per check and exits 1 if any check fails (2 on bad usage).

Needs: pip install authlib requests-oauthlib pyjwt cryptography requests
"""

import argparse
import os
import sys
import urllib.parse

import jwt
import requests
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from oauthlib.oauth2 import BackendApplicationClient
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session as RequestsOAuthlibSession

REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope", "acct"]
# Every algorithm keymint may sign with (KEYMINT_SIGNING_ALG); the key's own
# `alg` picks one of them, so no token can choose its algorithm.
KEYMINT_ALGORITHMS = {"ES256", "EdDSA", "RS256"}
TIMEOUT = 10


class Report:
    """Counts results and prints one line per check."""

    def __init__(self):
        self.failures = 0

    def ok(self, name, detail=""):
        print(f"PASS  {name}" + (f": {detail}" if detail else ""))

    def fail(self, name, detail):
        self.failures += 1
        print(f"FAIL  {name}: {detail}")

    def warn(self, name, detail):
        print(f"WARN  {name}: {detail}")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url", nargs="?", default=os.environ.get("KEYMINT_URL"))
    parser.add_argument("client_id", nargs="?", default=os.environ.get("KEYMINT_CLIENT_ID"))
    parser.add_argument(
        "client_secret", nargs="?", default=os.environ.get("KEYMINT_CLIENT_SECRET")
    )
    parser.add_argument(
        "--audience",
        default=os.environ.get("KEYMINT_AUDIENCE"),
        help='expected "aud" (default: issuer + "/api")',
    )
    args = parser.parse_args()
    missing = [name for name in ("base_url", "client_id", "client_secret") if not getattr(args, name)]
    if missing:
        parser.error("missing " + ", ".join(missing) + " (give them as arguments or KEYMINT_* variables)")
    args.base_url = args.base_url.rstrip("/")
    return args


def fetch_metadata(report, base_url):
    """GET the RFC 8414 document; None if it is unusable."""
    name = "metadata: GET /.well-known/oauth-authorization-server"
    try:
        response = requests.get(f"{base_url}/.well-known/oauth-authorization-server", timeout=TIMEOUT)
        response.raise_for_status()
        metadata = response.json()
    except (requests.RequestException, ValueError) as err:
        report.fail(name, err)
        return None
    missing = [key for key in ("issuer", "token_endpoint", "jwks_uri") if key not in metadata]
    if missing:
        report.fail(name, f"missing {missing}")
        return None
    # RFC 8414 §3.3: the issuer must be the URL the metadata was fetched from.
    if metadata["issuer"] != base_url:
        report.fail(name, f"issuer {metadata['issuer']!r} differs from {base_url!r}")
        return None
    report.ok(name, f"issuer {metadata['issuer']}")
    return metadata


def validate_metadata_with_authlib(report, metadata):
    """Authlib's RFC 8414 model. Reported as a warning: client libraries do
    not run this validation when fetching tokens, so it never blocks them."""
    name = "metadata: Authlib AuthorizationServerMetadata.validate()"
    try:
        AuthorizationServerMetadata(metadata).validate()
    except ValueError as err:
        # Authlib refuses plain http for a non-loopback issuer; that is a
        # deployment matter (TLS in front of keymint), not the document's.
        report.warn(name, err)
        return
    report.ok(name)


def check_token_response(token, client_id):
    """Problems with a token response as the library returned it."""
    problems = []
    if str(token.get("token_type", "")).lower() != "bearer":
        problems.append(f"token_type {token.get('token_type')!r}")
    if not isinstance(token.get("expires_in"), int) or token["expires_in"] <= 0:
        problems.append(f"expires_in {token.get('expires_in')!r}")
    if not token.get("scope"):
        problems.append("no scope")
    if not token.get("access_token"):
        problems.append("no access_token")
    return problems


def fetch_with_authlib(token_endpoint, client_id, client_secret, method):
    session = AuthlibSession(client_id, client_secret, token_endpoint_auth_method=method)
    return session.fetch_token(token_endpoint, grant_type="client_credentials", timeout=TIMEOUT)


def fetch_with_requests_oauthlib(token_endpoint, client_id, client_secret):
    client = BackendApplicationClient(client_id=client_id)
    session = RequestsOAuthlibSession(client=client)
    return session.fetch_token(
        token_url=token_endpoint,
        auth=HTTPBasicAuth(client_id, client_secret),
        timeout=TIMEOUT,
    )


def fetch(report, name, fetcher, client_id):
    try:
        token = dict(fetcher())
    except Exception as err:  # noqa: BLE001 - report whatever the library raised
        report.fail(name, f"{type(err).__name__}: {err}")
        return None
    # oauthlib hands the scope back as a list; the wire value is one string.
    if isinstance(token.get("scope"), list):
        token["scope"] = " ".join(token["scope"])
    problems = check_token_response(token, client_id)
    if problems:
        report.fail(name, "; ".join(problems))
        return None
    report.ok(name, f"scope {token['scope']!r}, expires_in {token['expires_in']}")
    return token


def verify(report, name, jwks_client, token, issuer, audience, client_id):
    """Verifies one access token with PyJWT; returns its claims or None."""
    try:
        signing_key = jwks_client.get_signing_key_from_jwt(token["access_token"])
        algorithm = signing_key.algorithm_name
        if algorithm not in KEYMINT_ALGORITHMS:
            raise ValueError(f"the JWK names algorithm {algorithm!r}")
        decoded = jwt.decode_complete(
            token["access_token"],
            signing_key,
            algorithms=[algorithm],
            issuer=issuer,
            audience=audience,
            options={"require": REQUIRED_CLAIMS},
        )
    except (jwt.PyJWTError, ValueError) as err:
        report.fail(name, f"{type(err).__name__}: {err}")
        return None
    header, claims = decoded["header"], decoded["payload"]
    problems = []
    if header.get("typ") != "at+jwt":
        problems.append(f"typ header {header.get('typ')!r}, want 'at+jwt'")
    if not header.get("kid"):
        problems.append("no kid header")
    if claims["sub"] != client_id or claims["client_id"] != client_id:
        problems.append(f"sub {claims['sub']!r} / client_id {claims['client_id']!r}, want {client_id!r}")
    if claims["scope"] != token["scope"]:
        problems.append(f"scope claim {claims['scope']!r} differs from the response's {token['scope']!r}")
    if claims["exp"] - claims["iat"] != token["expires_in"]:
        problems.append(f"exp - iat = {claims['exp'] - claims['iat']}, expires_in {token['expires_in']}")
    if problems:
        report.fail(name, "; ".join(problems))
        return None
    report.ok(name, f"alg {header['alg']}, kid {header['kid']}, acct {claims['acct']}")
    return claims


def main():
    args = parse_args()
    report = Report()

    metadata = fetch_metadata(report, args.base_url)
    if metadata is None:
        return 1
    validate_metadata_with_authlib(report, metadata)
    issuer = metadata["issuer"]
    audience = args.audience or f"{issuer}/api"
    token_endpoint = metadata["token_endpoint"]

    if urllib.parse.urlsplit(token_endpoint).scheme == "http":
        # oauthlib refuses every http:// URL, loopback included, unless told
        # otherwise; this only concerns a local test server without TLS.
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
        print(f"NOTE  {token_endpoint} is plain http: set OAUTHLIB_INSECURE_TRANSPORT=1 for oauthlib")

    fetchers = [
        (
            "token: Authlib OAuth2Session, client_secret_basic",
            lambda: fetch_with_authlib(token_endpoint, args.client_id, args.client_secret, "client_secret_basic"),
        ),
        (
            "token: requests-oauthlib BackendApplicationClient, HTTP Basic",
            lambda: fetch_with_requests_oauthlib(token_endpoint, args.client_id, args.client_secret),
        ),
        (
            "token: Authlib OAuth2Session, client_secret_post",
            lambda: fetch_with_authlib(token_endpoint, args.client_id, args.client_secret, "client_secret_post"),
        ),
    ]
    tokens = [(name, fetch(report, name, fetcher, args.client_id)) for name, fetcher in fetchers]

    jwks_client = jwt.PyJWKClient(metadata["jwks_uri"], timeout=TIMEOUT)
    jtis = []
    for name, token in tokens:
        if token is None:
            continue
        check = "verify (PyJWT PyJWKClient): " + name.removeprefix("token: ")
        claims = verify(report, check, jwks_client, token, issuer, audience, args.client_id)
        if claims is not None:
            jtis.append(claims["jti"])

    if len(jtis) > 1:
        if len(set(jtis)) == len(jtis):
            report.ok("jti: unique across tokens", f"{len(jtis)} tokens")
        else:
            report.fail("jti: unique across tokens", f"repeated jti in {jtis}")

    print(f"{'FAILED' if report.failures else 'OK'}: {report.failures} check(s) failed")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
