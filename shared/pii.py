"""Personal data under UU PDP 27/2022: NIK/KK are kept only as a keyed hash and last 4 digits;
names are encrypted at rest and never put into events."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken


class PiiVault:
    def __init__(self, key: str) -> None:
        self._hmac_key = hashlib.sha256(b"lumbung/pii/hmac/" + key.encode()).digest()
        fernet_key = hashlib.sha256(b"lumbung/pii/fernet/" + key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(fernet_key))

    def match_hash(self, number: str) -> str:
        """Keyed hash (HMAC-SHA256) of a NIK or KK number, for matching without storing it."""
        digits = "".join(ch for ch in number if ch.isdigit())
        return hmac.new(self._hmac_key, digits.encode(), hashlib.sha256).hexdigest()

    def digest(self, text: str) -> str:
        """Keyed hash of any text that may hold personal numbers (request fingerprints)."""
        return hmac.new(self._hmac_key, b"text/" + text.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def last4(number: str) -> str:
        digits = "".join(ch for ch in number if ch.isdigit())
        return digits[-4:]

    def seal(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def open(self, token: str) -> str | None:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            return None


@functools.lru_cache(maxsize=8)
def vault_for(key: str) -> PiiVault:
    """The vault for a key, built once (deriving its keys costs on every request)."""
    return PiiVault(key)
