"""HTTP Message Signatures (RFC 9421) over organizers' API requests, with one fixed shape.

Covered: method, authority (the host the client meant), path, query and the RFC 9530
Content-Digest of the body, plus `created`, a
`nonce` and the signer's `keyid`, with `tag="pledgebox-v1"` as the domain separator. A fixed
shape means both sides build the signature base without a general structured-field parser, and
anything else is refused instead of half-understood.
"""

import base64
import hashlib
import re
from dataclasses import dataclass

from crypto import _primitives as p
from crypto.errors import BadSignature
from crypto.ids import ID_PATTERN

LABEL = "pb"
TAG = "pledgebox-v1"
_COMPONENTS = '("@method" "@authority" "@path" "@query" "content-digest")'
_KEYID = ID_PATTERN
_INPUT = re.compile(
    rf'pb={re.escape(_COMPONENTS)};created=(\d{{1,12}});keyid="({_KEYID})";'
    rf'nonce="([A-Za-z0-9_-]{{22,64}})";alg="ed25519";tag="{TAG}"'
)
_SIGNATURE = re.compile(r"pb=:([A-Za-z0-9+/]{86}==):")


@dataclass(frozen=True)
class SignatureParams:
    created: int
    keyid: str
    nonce: str

    def serialize(self) -> str:
        return (f'{_COMPONENTS};created={self.created};keyid="{self.keyid}";'
                f'nonce="{self.nonce}";alg="ed25519";tag="{TAG}"')


def content_digest(body: bytes) -> str:
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def authority(host: str) -> str:
    """RFC 9421's @authority: the host, lower-case, without a default port (either side of a proxy)."""
    host = host.strip().lower()
    for default in (":443", ":80"):
        if host.endswith(default):
            return host.removesuffix(default)
    return host


def signature_base(
    method: str, host: str, path: str, query: str, digest: str, params: SignatureParams
) -> bytes:
    lines = [
        f'"@method": {method.upper()}',
        f'"@authority": {authority(host)}',
        f'"@path": {path}',
        f'"@query": ?{query}',
        f'"content-digest": {digest}',
        f'"@signature-params": {params.serialize()}',
    ]
    if any(ch in line for line in lines for ch in "\r\n"):
        raise BadSignature("request components may not contain line breaks")
    return "\n".join(lines).encode("utf-8")


def sign_request(
    sign_secret: bytes, *, method: str, host: str, path: str, query: str, body: bytes,
    params: SignatureParams,
) -> dict[str, str]:
    """The three headers that authenticate one request to `host` (the URL's host[:port])."""
    digest = content_digest(body)
    sig = p.sign(sign_secret, signature_base(method, host, path, query, digest, params))
    return {
        "Content-Digest": digest,
        "Signature-Input": f"{LABEL}={params.serialize()}",
        "Signature": f"{LABEL}=:{base64.b64encode(sig).decode('ascii')}:",
    }


def parse_signature_headers(signature_input: str, signature: str) -> tuple[SignatureParams, bytes]:
    m_in, m_sig = _INPUT.fullmatch(signature_input), _SIGNATURE.fullmatch(signature)
    if not m_in or not m_sig:
        raise BadSignature("Signature-Input or Signature is not in the accepted form")
    params = SignatureParams(int(m_in.group(1)), m_in.group(2), m_in.group(3))
    return params, base64.b64decode(m_sig.group(1), validate=True)


def verify_request(sign_public: bytes, base: bytes, signature: bytes) -> None:
    p.verify(sign_public, base, signature)
