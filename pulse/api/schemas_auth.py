"""Request and response bodies of ``/v1/auth``.

Passwords and tokens arrive as ``SecretStr`` so that no repr, log line or validation
error can show them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, EmailStr, Field, SecretStr, field_validator

from pulse.services.accounts import MAX_NAME_LENGTH, Account, SessionTokens
from pulse.services.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

# Refresh tokens are ``rt_`` + 32 hex + "." + 43 characters; the bound only keeps junk out.
MAX_REFRESH_TOKEN_LENGTH = 256


class SignUpRequest(BaseModel):
    email: EmailStr = Field(description="The account's email; one account per address.")
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, description="Display name.")
    password: SecretStr = Field(
        description=f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters.",
        json_schema_extra={"minLength": MIN_PASSWORD_LENGTH, "maxLength": MAX_PASSWORD_LENGTH},
    )

    @field_validator("password")
    @classmethod
    def _password_length(cls, value: SecretStr) -> SecretStr:
        # Said in characters: pydantic's own message for SecretStr speaks of "items".
        if not MIN_PASSWORD_LENGTH <= len(value.get_secret_value()) <= MAX_PASSWORD_LENGTH:
            msg = f"must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long"
            raise ValueError(msg)
        return value


class LogInRequest(BaseModel):
    email: EmailStr
    # No minimum here: a short password is simply wrong, and saying that it is too
    # short would only teach the policy to someone guessing.
    password: SecretStr = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class RefreshRequest(BaseModel):
    refresh_token: SecretStr = Field(
        min_length=1,
        max_length=MAX_REFRESH_TOKEN_LENGTH,
        description="The latest refresh token of the session (`rt_...`); it is used up.",
    )


class LogOutRequest(BaseModel):
    refresh_token: SecretStr = Field(
        min_length=1,
        max_length=MAX_REFRESH_TOKEN_LENGTH,
        description="The session's current refresh token (`rt_...`).",
    )


class UserResponse(BaseModel):
    id: UUID
    email: str
    name: str

    @classmethod
    def of(cls, account: Account) -> UserResponse:
        return cls(id=account.user_id, email=account.email, name=account.name)


class SessionResponse(BaseModel):
    """A signed-in session. The tokens are shown once; Pulse keeps only their digests."""

    user: UserResponse
    session_id: UUID
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme name
    access_token: str = Field(description="JWT for `Authorization: Bearer <token>`.")
    expires_in: int = Field(description="Seconds until the access token expires.")
    access_token_expires_at: datetime
    refresh_token: str = Field(
        description="Exchange at `/v1/auth/refresh` for new tokens; each one works once."
    )
    refresh_token_expires_at: datetime

    @classmethod
    def of(cls, tokens: SessionTokens, now: datetime) -> SessionResponse:
        return cls(
            user=UserResponse.of(tokens.user),
            session_id=tokens.session_id,
            access_token=tokens.access_token,
            expires_in=max(0, int((tokens.access_token_expires_at - now).total_seconds())),
            access_token_expires_at=tokens.access_token_expires_at,
            refresh_token=tokens.refresh_token,
            refresh_token_expires_at=tokens.refresh_token_expires_at,
        )


class UserWhoAmI(BaseModel):
    kind: Literal["user"] = "user"
    user_id: UUID
    session_id: UUID


class ProjectKeyWhoAmI(BaseModel):
    kind: Literal["project_key"] = "project_key"
    project_id: UUID
    organization_id: UUID
    key_id: str


WhoAmIResponse = Annotated[UserWhoAmI | ProjectKeyWhoAmI, Field(discriminator="kind")]
