"""The one exception tree of crypto/: callers catch CryptoError, users read the docstring."""


class CryptoError(Exception):
    """A cryptographic check failed."""

    def __str__(self) -> str:
        return super().__str__() or (self.__doc__ or "").strip()


class BadEncoding(CryptoError):
    """A value is not canonical unpadded base64url."""


class BadSignature(CryptoError):
    """A signature does not verify under the expected key."""


class BadEnvelope(CryptoError):
    """A pledge could not be opened: wrong key, damaged, or not a pledge of this campaign."""


class WrongPassphrase(CryptoError):
    """That passphrase does not unlock this keystore; check it and try again."""


class KeystoreCorrupt(CryptoError):
    """The keystore file is damaged or not a Pledgebox keystore; restore it from your backup."""
