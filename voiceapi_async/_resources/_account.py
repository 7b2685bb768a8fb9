"""API keys, login sessions, the current user, and credits."""

from __future__ import annotations

from .._errors import AuthenticationError
from .._models import ApiKey, CreditBalance, LoginRequest, LoginResponse, OkResponse, User
from .._transport import decode_answer
from ._base import Resource

__all__ = ["ApiKeys", "Auth", "Credits"]


class ApiKeys(Resource):
    async def create(self) -> ApiKey:
        """``POST /api/api-key``: generate a new key (shown once; its repr is redacted).

        The account has one key: the new one replaces the old, and this client uses it.
        """
        key: ApiKey = await self._client._request("POST", "/api/api-key", ApiKey)
        self._client._use_new_api_key(key.api_key)
        return key

    async def delete(self) -> OkResponse:
        """``DELETE /api/api-key``: delete the account's key.

        This client then holds none: its next call raises ``MissingCredentialsError``
        before sending anything (unless it logs in or creates a new key).
        """
        result: OkResponse = await self._client._request("DELETE", "/api/api-key", OkResponse)
        self._client._options.credentials.forget_api_key()
        return result


class Auth(Resource):
    async def login(self, email: str, password: str, *, session_duration: int | None = None) -> LoginResponse:
        """``POST /api/login``: start a session; later requests send its cookie and CSRF token."""
        body = LoginRequest(email=email, password=password, session_duration=session_duration)
        credentials = self._client._options.credentials
        credentials.remember_secret(password)  # redacted if a server echoes it
        raw = await self._client._send("POST", "/api/login", json=body, idempotent=True, authenticated=False)
        result = decode_answer(raw.content, LoginResponse, raw.status, raw.method, raw.path, credentials.secrets)
        session_id = raw.cookies.get("session_id")
        if not session_id or not result.csrf_token:
            raise AuthenticationError(
                "login answered without a session cookie or a CSRF token",
                status_code=raw.status,
                method="POST",
                path="/api/login",
            )
        self._client._options.credentials.start_session(session_id, result.csrf_token)
        return result

    async def logout(self) -> OkResponse:
        """``POST /api/logout``: end the session; the client falls back to its api key, if any."""
        try:
            result: OkResponse = await self._client._request("POST", "/api/logout", OkResponse, idempotent=True)
        finally:
            self._client._options.credentials.end_session()
        return result

    async def me(self) -> User:
        """``POST /api/auth``: the current user; its ``id`` is the ``owner`` of new projects."""
        return await self._client._request("POST", "/api/auth", User, idempotent=True)


class Credits(Resource):
    async def get(self) -> CreditBalance:
        """``GET /api/credits``: the credits left on the account."""
        return await self._client._request("GET", "/api/credits", CreditBalance)
