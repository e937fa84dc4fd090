"""Pledges that share a protocol 1.1 nonce: one pledge stored twice, or a forgery (amendment 1).

A server can store one ciphertext twice under two ids, and key rotation re-seals the same
plaintext: those copies are byte-identical and count once. Anyone who once read a pledge (an
organizer, also after removal) knows its nonce and can seal other answers with it through the
public API; keeping only the first of each nonce let such a forgery push the real pledge out of
every count. So pledges that share a nonce but differ in any byte are all kept and counted, and
their ids are collected so every reader can say how many there are and which.

Memory: per nonce seen, for the whole run, its key and one bytes object holding the 16-byte
digest and the first pledge's id (about twice what a set of nonces took).
"""

import hashlib
from dataclasses import dataclass, field
from enum import Enum


class Verdict(Enum):
    KEEP = "keep"  # first of its nonce (or no nonce): counted
    REPEAT = "repeat"  # byte-identical to one already kept: left out, counted as a duplicate
    CONFLICT = "conflict"  # same nonce, different plaintext: counted, and flagged with the others


DIGEST = 16


def digest(plaintext: bytes) -> bytes:
    return hashlib.blake2b(plaintext, digest_size=DIGEST).digest()


@dataclass
class NonceBook:
    _first: dict[str, bytes] = field(default_factory=dict)  # nonce -> digest + first id (UTF-8)
    _variants: dict[str, set[bytes]] = field(default_factory=dict)  # nonces already in conflict
    conflicting: set[str] = field(default_factory=set)  # ids of every pledge in a conflict

    def check(self, nonce: str | None, plain_digest: bytes, pledge_id: str) -> Verdict:
        if nonce is None:  # a version 1 client: never a duplicate
            return Verdict.KEEP
        first = self._first.get(nonce)
        if first is None:
            self._first[nonce] = plain_digest + pledge_id.encode()
            return Verdict.KEEP
        first_digest, first_id = first[:DIGEST], first[DIGEST:].decode()
        variants = self._variants.get(nonce)
        if (variants is None and plain_digest == first_digest) or (
                variants is not None and plain_digest in variants):
            return Verdict.REPEAT
        if variants is None:
            variants = self._variants[nonce] = {first_digest}
            self.conflicting.add(first_id)
        variants.add(plain_digest)
        self.conflicting.add(pledge_id)
        return Verdict.CONFLICT
