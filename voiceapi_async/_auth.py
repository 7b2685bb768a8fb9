"""Credentials: the ``api-key`` header, or a login session (cookie + CSRF header).

Secrets live only here and in the headers of outgoing requests: every ``repr`` is
redacted, and nothing in this module logs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._errors import MissingCredentialsError

__all__ = ["Credentials", "redact"]


def redact(secret: str | None) -> str:
    """What a secret looks like in messages and reprs: nothing of it."""
    return "***" if secret else "<none>"


@dataclass
class _Session:
    session_id: str
    csrf_token: str

    def __repr__(self) -> str:
        return "_Session(session_id='***', csrf_token='***')"


class Credentials:
    """What the transport sends to authenticate; a session takes precedence over a key."""

    def __init__(self, api_key: str | None = None) -> None:
        self._api_key = api_key or None
        self._session: _Session | None = None
        self._others: tuple[str, ...] = ()  # e.g. the login password: redacted from server text too
        self._key_deleted = False

    @property
    def has_api_key(self) -> bool:
        return self._api_key is not None

    @property
    def has_session(self) -> bool:
        return self._session is not None

    def start_session(self, session_id: str, csrf_token: str) -> None:
        self._session = _Session(session_id, csrf_token)

    def end_session(self) -> None:
        self._session = None

    def forget_api_key(self) -> None:
        """The key was deleted on the server: hold none, and say so on the next call."""
        if self._api_key is not None:
            self._others += (self._api_key,)  # a server may still echo it
        self._api_key = None
        self._key_deleted = True

    def use_api_key(self, api_key: str) -> None:
        """A new key (``api_keys.create()``) replaces the old one, which stops working."""
        if self._api_key is not None:
            self._others += (self._api_key,)
        self._api_key = api_key
        self._key_deleted = False

    def remember_secret(self, secret: str) -> None:
        """A secret sent in a body (the login password): never shown back from server text."""
        if secret and secret not in self._others:
            self._others += (secret,)

    def secrets(self) -> tuple[str, ...]:
        """Every secret this client holds, for redaction from server-provided text."""
        found = [self._api_key] if self._api_key else []
        if self._session is not None:
            found += [self._session.session_id, self._session.csrf_token]
        return (*found, *self._others)

    def headers(self) -> dict[str, str]:
        if self._session is not None:
            return {"Cookie": f"session_id={self._session.session_id}", "X-Csrf-Token": self._session.csrf_token}
        if self._api_key is not None:
            return {"api-key": self._api_key}
        if self._key_deleted:
            raise MissingCredentialsError(
                "no API key: the key was deleted by api_keys.delete(); log in (auth.login()) and "
                "create one with api_keys.create(), which this client then uses, or pass a key with "
                "with_options(api_key=...) or to a new VoiceClient"
            )
        return {}

    def __repr__(self) -> str:
        kind = "session" if self._session else "api_key" if self._api_key else "none"
        return f"Credentials(kind={kind}, api_key={redact(self._api_key) if self._api_key else None})"
