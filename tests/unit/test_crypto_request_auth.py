"""crypto/request_auth.py: RFC 9421 signatures over organizers' requests, in one fixed shape."""

import base64
import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.errors import BadSignature
from crypto.identity import OrganizerIdentity
from crypto.request_auth import (
    SignatureParams,
    content_digest,
    parse_signature_headers,
    sign_request,
    signature_base,
    verify_request,
)

ME = OrganizerIdentity(bytes(range(32)), bytes(range(32, 64)))
OTHER = OrganizerIdentity(bytes(range(1, 33)), bytes(range(32, 64)))
PARAMS = SignatureParams(1767225600, "org_Abc-1", "n0nce-n0nce-n0nce-n0nce")
BODY = b'{"hello": "world"}'


def test_content_digest_matches_rfc9530() -> None:
    """The example of RFC 9530 section 2."""
    assert content_digest(b'{"hello": "world"}') == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    assert content_digest(b"") == "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"


def test_signature_base_has_the_rfc9421_shape() -> None:
    base = signature_base("post", "Pledge.Example.ORG:443", "/api/v1/org/campaigns", "a=1",
                          content_digest(BODY), PARAMS)
    assert base.decode() == (
        '"@method": POST\n'
        '"@authority": pledge.example.org\n'
        '"@path": /api/v1/org/campaigns\n'
        '"@query": ?a=1\n'
        '"content-digest": sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:\n'
        '"@signature-params": ("@method" "@authority" "@path" "@query" "content-digest");'
        'created=1767225600;'
        'keyid="org_Abc-1";nonce="n0nce-n0nce-n0nce-n0nce";alg="ed25519";tag="pledgebox-v1"')


HOST = "pledge.example.org"


def _headers(method: str = "POST", path: str = "/api/v1/org/x", query: str = "",
             body: bytes = BODY) -> dict[str, str]:
    return sign_request(ME.sign_secret, method=method, host=HOST, path=path, query=query, body=body,
                        params=PARAMS)


def _check(headers: dict[str, str], method: str = "POST", path: str = "/api/v1/org/x",
           query: str = "", body: bytes = BODY, key: bytes = ME.sign_public, host: str = HOST) -> None:
    """What the server does: parse, rebuild the base from the request as received, verify."""
    params, signature = parse_signature_headers(headers["Signature-Input"], headers["Signature"])
    verify_request(key, signature_base(method, host, path, query, content_digest(body), params),
                   signature)


def test_a_signed_request_verifies_and_round_trips_its_parameters() -> None:
    headers = _headers(query="after=x&limit=5")
    params, signature = parse_signature_headers(headers["Signature-Input"], headers["Signature"])
    assert params == PARAMS
    assert len(signature) == 64
    assert headers["Content-Digest"] == content_digest(BODY)
    _check(headers, query="after=x&limit=5")


@pytest.mark.parametrize("changed", [
    {"method": "PUT"}, {"path": "/api/v1/org/y"}, {"query": "a=1"}, {"body": BODY + b" "},
    {"key": OTHER.sign_public}, {"host": "other.example.org"}, {"host": "pledge.example.org:8443"},
])
def test_changing_any_covered_part_breaks_the_signature(changed: dict) -> None:
    with pytest.raises(BadSignature):
        _check(_headers(), **changed)


def test_changed_parameters_break_the_signature() -> None:
    headers = _headers()
    for old, new in [("created=1767225600", "created=1767225601"), ('keyid="org_Abc-1"', 'keyid="org_Abc-2"'),
                     ("n0nce-n0nce", "n0nce-n0ncf")]:
        tampered = {**headers, "Signature-Input": headers["Signature-Input"].replace(old, new, 1)}
        with pytest.raises(BadSignature):
            _check(tampered)


def test_the_authority_ignores_case_and_default_ports_only() -> None:
    headers = _headers()
    for same in ("PLEDGE.example.org", "pledge.example.org:443", "pledge.example.org:80"):
        _check(headers, host=same)


@pytest.mark.parametrize("part", ["method", "host", "path", "query"])
def test_line_breaks_in_components_are_refused(part: str) -> None:
    kwargs = {"method": "GET", "host": HOST, "path": "/p", "query": ""}
    kwargs[part] += "\n\"@method\": GET"
    with pytest.raises(BadSignature):
        signature_base(kwargs["method"], kwargs["host"], kwargs["path"], kwargs["query"],
                       content_digest(b""), PARAMS)


GOOD_INPUT = _headers()["Signature-Input"]
GOOD_SIG = _headers()["Signature"]


@pytest.mark.parametrize("signature_input", [
    "",
    GOOD_INPUT.replace("pb=", "sig1=", 1),
    GOOD_INPUT.replace('alg="ed25519"', 'alg="hmac-sha256"'),
    GOOD_INPUT.replace('tag="pledgebox-v1"', 'tag="other"'),
    GOOD_INPUT.replace('"content-digest"', '"content-type"'),
    GOOD_INPUT.replace('nonce="n0nce-n0nce-n0nce-n0nce"', 'nonce="short"'),
    GOOD_INPUT.replace('keyid="org_Abc-1"', 'keyid="org Abc"'),
    GOOD_INPUT.replace('keyid="org_Abc-1"', 'keyid="' + "k" * 65 + '"'),
    GOOD_INPUT.replace("created=1767225600", "created=-1"),
    GOOD_INPUT + ";expires=1",
    GOOD_INPUT + ", pb2=()",
], ids=range(11))
def test_signature_input_outside_the_fixed_shape_is_refused(signature_input: str) -> None:
    with pytest.raises(BadSignature):
        parse_signature_headers(signature_input, GOOD_SIG)


@pytest.mark.parametrize("signature", [
    "", GOOD_SIG[:-1], GOOD_SIG.replace("pb=", "sig1="), "pb=:" + base64.b64encode(bytes(63)).decode() + ":",
    "pb=:" + base64.b64encode(bytes(65)).decode() + ":", GOOD_SIG + ", pb=:AAAA:",
])
def test_malformed_signature_headers_are_refused(signature: str) -> None:
    with pytest.raises(BadSignature):
        parse_signature_headers(GOOD_INPUT, signature)


@given(st.text(max_size=80), st.text(max_size=120))
def test_the_parser_never_raises_anything_but_bad_signature(signature_input: str, signature: str) -> None:
    with contextlib.suppress(BadSignature):
        parse_signature_headers(signature_input, signature)
