"""API keys and webhook secrets.

API keys are random and high-entropy, so a plain SHA-256 is a safe and fast lookup hash: nothing to
brute-force. Webhook secrets must be recoverable to sign callbacks, so they are encrypted (Fernet) under
COUNTERSIGN_SECRET_KEY; without that variable a key is generated once and kept in the database, which is
convenient on one machine but means a database dump carries it: set the variable in production.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken
from sqlmodel import Field, Session, SQLModel

API_KEY_PREFIX = "cs_agent_"
WEBHOOK_SECRET_PREFIX = "whsec_"


class ServerKey(SQLModel, table=True):
    __tablename__ = "server_keys"

    name: str = Field(primary_key=True, max_length=32)
    value: str = Field(max_length=256)


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_webhook_secret() -> str:
    """`whsec_` + standard base64 of 32 random bytes: the form Standard Webhooks libraries take as it is."""
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signing_key(secret: str) -> bytes:
    """The HMAC key of the `webhook-signature` header: the bytes the base64 after `whsec_` decodes to.

    Secrets issued before Standard Webhooks were URL-safe base64 without padding (`-`, `_`); they decode to
    their bytes the same way, so an agent holding one can verify with any Standard Webhooks library after
    writing it in standard base64 (`-` -> `+`, `_` -> `/`, padded with `=`), or simply rotate it.
    """
    text = secret.removeprefix(WEBHOOK_SECRET_PREFIX).replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _fernet_from_text(text: str) -> Fernet:
    # Any passphrase works: derive a proper 32-byte key from it.
    digest = hashlib.sha256(text.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def fernet(session: Session, configured_key: str | None) -> Fernet:
    if configured_key:
        return _fernet_from_text(configured_key)
    row = session.get(ServerKey, "webhook")  # created by the first migration
    if row is None:
        raise RuntimeError("server key missing: run `countersign db upgrade`")
    return _fernet_from_text(row.value)


def encrypt(box: Fernet, secret: str) -> str:
    return box.encrypt(secret.encode()).decode()


def decrypt(box: Fernet, token: str) -> str:
    try:
        return box.decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise RuntimeError("webhook secret cannot be decrypted: COUNTERSIGN_SECRET_KEY changed?") from exc
