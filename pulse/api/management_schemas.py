"""Request and response bodies of the management routes (organizations to invitations)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    field_validator,
    model_validator,
)

from pulse.domain.plans import Plan
from pulse.domain.regions import REGIONS
from pulse.domain.roles import Role

T = TypeVar("T")

Name = Field(min_length=1, max_length=100)
OptionalName = Field(default=None, min_length=1, max_length=100)
Region = Literal[REGIONS]  # type: ignore[valid-type]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # Fields a resource always has: absent means "unchanged", null is refused.
    not_nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_for_required_fields(self) -> Input:
        nulled = sorted(
            name
            for name in self.not_nullable & self.model_fields_set
            if getattr(self, name) is None
        )
        if nulled:
            raise ValueError(f"{', '.join(nulled)} cannot be null; leave it out to keep it")
        return self


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="Number of matching items across all pages.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


# -- organizations ----------------------------------------------------------------


class OrganizationCreate(Input):
    name: str = Name
    admin_email: EmailStr
    plan: Plan = Plan.FREE


class OrganizationUpdate(Input):
    not_nullable: ClassVar[frozenset[str]] = frozenset({"name", "admin_email", "plan"})
    name: str | None = OptionalName
    admin_email: EmailStr | None = None
    plan: Plan | None = Field(default=None, description="Changing the plan needs the Owner role.")


class OrganizationOut(BaseModel):
    id: str
    name: str
    admin_email: str
    plan: Plan
    created_at: datetime
    updated_at: datetime


# -- projects -----------------------------------------------------------------------


class StorageIn(Input):
    """Where recordings and HLS segments go: an S3-compatible bucket (AWS S3, Cloudflare R2)."""

    provider: Literal["s3", "r2"]
    bucket: str = Field(min_length=3, max_length=63)
    region: str | None = Field(default=None, max_length=64)
    endpoint: AnyHttpUrl | None = None
    access_key_id: str | None = Field(default=None, max_length=128)
    secret_access_key: str | None = Field(
        default=None, max_length=256, description="Write-only: stored encrypted, never returned."
    )
    public_base_url: AnyHttpUrl | None = Field(
        default=None, description="CDN base URL for playback of what lands in the bucket."
    )

    def as_config(self) -> dict[str, Any]:
        return {k: str(v) for k, v in self.model_dump(exclude_none=True).items()}


class StorageOut(BaseModel):
    provider: str
    bucket: str
    region: str | None = None
    endpoint: str | None = None
    access_key_id: str | None = None
    public_base_url: str | None = None
    has_secret_access_key: bool


class ProjectCreate(Input):
    organization_id: str
    name: str = Name
    region: Region = "us-east"
    webhook_url: AnyHttpUrl | None = None
    storage: StorageIn | None = None


class ProjectUpdate(Input):
    not_nullable: ClassVar[frozenset[str]] = frozenset({"name", "region"})
    name: str | None = OptionalName
    region: Region | None = None
    webhook_url: AnyHttpUrl | None = None
    storage: StorageIn | None = None


class ProjectOut(BaseModel):
    id: str
    organization_id: str
    name: str
    region: str
    webhook_url: str | None
    storage: StorageOut | None
    created_at: datetime
    updated_at: datetime


class ApiKeyOut(BaseModel):
    id: str = Field(description="Public key id (`pk_…`).")
    project_id: str
    name: str
    status: Literal["active", "expiring", "expired", "revoked"]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class IssuedApiKeyOut(BaseModel):
    key: ApiKeyOut
    secret: str = Field(description="The key's secret (`sk_…`). Shown this once, never again.")


class ProjectCreatedOut(BaseModel):
    project: ProjectOut
    key: IssuedApiKeyOut


class KeyCreate(Input):
    name: str = Field(default="default", min_length=1, max_length=64)


class KeyRotate(Input):
    grace_seconds: int = Field(
        default=0,
        ge=0,
        description="How long the old key keeps working after the rotation (0: stops now).",
    )


class KeysRegenerated(BaseModel):
    project: ProjectOut
    key: IssuedApiKeyOut
    retired: list[ApiKeyOut]


class KeyRotated(BaseModel):
    new: IssuedApiKeyOut
    old: ApiKeyOut


# -- team ---------------------------------------------------------------------------


class MemberInvite(Input):
    email: EmailStr
    role: Role = Role.VIEWER


class RoleChange(Input):
    role: Role


class MemberOut(BaseModel):
    user_id: str
    organization_id: str
    email: str
    role: Role
    joined_at: datetime


class InvitationOut(BaseModel):
    id: str
    organization_id: str
    email: str
    role: Role
    status: Literal["pending", "accepted", "revoked", "expired"]
    expires_at: datetime
    created_at: datetime


class InvitationSent(BaseModel):
    invitation: InvitationOut
    token: str = Field(
        description="Give this to the invitee; it is shown once. Accept it at "
        "`POST /v1/invitations/accept` while signed in with the invited email."
    )


class InvitationAccept(Input):
    token: str = Field(min_length=10, max_length=200)

    @field_validator("token")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.isascii() or not value.isprintable():
            raise ValueError("must be printable ASCII")
        return value
