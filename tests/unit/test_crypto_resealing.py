"""crypto.resealing: a stored envelope moves to a new key unchanged in content and size."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import BadEnvelope
from crypto.envelope import open_pledge, seal_bytes, seal_pledge
from crypto.resealing import reseal
from crypto.signing import EncryptionKey


@settings(max_examples=30, deadline=None)
@given(st.text(max_size=3000))
def test_reseal_keeps_the_padded_bytes_and_the_size_bucket(message: str) -> None:
    old, new = EncryptionKey.generate(1), EncryptionKey.generate(2)
    sealed = seal_pledge(old.public, "camp", {"message": message})
    moved = reseal(old.public, old.secret, new.public, sealed)
    assert len(moved) == len(sealed)
    assert open_pledge(new.public, new.secret, moved, "camp")["answers"] == {"message": message}
    with pytest.raises(BadEnvelope):
        open_pledge(old.public, old.secret, moved, "camp")


def test_reseal_refuses_what_the_old_key_does_not_open_or_no_client_makes() -> None:
    old, other, new = (EncryptionKey.generate(v) for v in (1, 1, 2))
    sealed = seal_bytes(other.public, b"not for this key")
    with pytest.raises(BadEnvelope):
        reseal(old.public, old.secret, new.public, sealed)
    with pytest.raises(BadEnvelope):
        reseal(old.public, old.secret, new.public, sealed[:-1])
