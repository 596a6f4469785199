"""Each read model's documents after real commands, saved and projected for real."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pymongo.database import Database

from pulse.config import Settings
from pulse.domain.member import member_id
from pulse.projections.model import Document
from pulse.projections.options import ProjectionSettings
from pulse.projections.runner import catch_up_all
from pulse.services.application import PulseApplication
from tests.projections.scenario import CTX, NOW, World, build_world, sid


def ms(moment: datetime) -> datetime:
    """As BSON stores it: millisecond precision."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@pytest.fixture
def world(
    pulse_app: PulseApplication,
    database: Database[Document],
    settings: Settings,
    options: ProjectionSettings,
) -> World:
    world = build_world(pulse_app)
    catch_up_all(pulse_app, database, settings, options)
    return world


def test_users_carry_email_name_and_registration_time(
    world: World, database: Database[Document]
) -> None:
    alice = database["rm_users"].find_one({"_id": sid(world.alice.id)})

    assert alice == {
        "_id": sid(world.alice.id),
        "email": "alice@example.test",
        "name": "Alice",
        "created_at": ms(world.alice.created_on),
        "version": 1,
    }
    assert database["rm_users"].count_documents({}) == 3


def test_organizations_follow_updates_owners_and_deletion(
    world: World, database: Database[Document]
) -> None:
    acme = database["rm_organizations"].find_one({"_id": sid(world.acme.id)})

    assert acme is not None
    assert acme["name"] == "ACME (Europe) Ltd."
    assert acme["name_lower"] == "acme (europe) ltd."
    assert acme["plan"] == "pro"
    assert acme["admin_email"] == "alice@example.test"
    # Bob was added as an Owner, then removed again.
    assert acme["owner_ids"] == [sid(world.alice.id)]
    assert acme["deleted"] is False
    assert acme["deleted_at"] is None
    assert acme["created_at"] == ms(world.acme.created_on)
    assert acme["updated_at"] == ms(world.acme.modified_on)
    assert acme["version"] == world.acme.version


def test_a_deleted_organization_keeps_its_document_marked_deleted(
    pulse_app: PulseApplication,
    world: World,
    database: Database[Document],
    settings: Settings,
    options: ProjectionSettings,
) -> None:
    world.globex.delete(NOW, context=CTX)
    pulse_app.save(world.globex)

    catch_up_all(pulse_app, database, settings, options)

    globex = database["rm_organizations"].find_one({"_id": sid(world.globex.id)})
    assert globex is not None
    assert (globex["deleted"], globex["deleted_at"]) == (True, NOW)
    assert globex["updated_at"] == ms(world.globex.modified_on)


def test_members_follow_role_changes_removal_and_rejoining(
    world: World, database: Database[Document]
) -> None:
    bob = database["rm_members"].find_one({"_id": sid(world.bob_in_acme.id)})

    assert bob == {
        "_id": sid(member_id(world.acme.id, world.bob.id)),
        "organization_id": sid(world.acme.id),
        "user_id": sid(world.bob.id),
        "email": "bob@example.test",
        "role": "viewer",
        "active": True,
        # Rejoined: the join time is the new one, as the command side answers it.
        "joined_at": ms(world.bob_in_acme.rejoined_at),
        "updated_at": ms(world.bob_in_acme.modified_on),
        "version": world.bob_in_acme.version,
    }
    assert database["rm_members"].count_documents({}) == 3


def test_projects_hide_the_storage_secret_and_record_deletion(
    world: World, database: Database[Document]
) -> None:
    video = database["rm_projects"].find_one({"_id": sid(world.video.id)})
    audio = database["rm_projects"].find_one({"_id": sid(world.audio.id)})
    old = database["rm_projects"].find_one({"_id": sid(world.old.id)})

    assert video is not None
    assert audio is not None
    assert old is not None
    assert video["name"] == "Video Calls"
    assert video["name_lower"] == "video calls"
    assert video["organization_id"] == sid(world.acme.id)
    assert video["region"] == "eu-west"
    assert video["webhook_url"] == "https://hooks.example.test/v"
    assert video["storage"] == {
        "provider": "s3",
        "bucket": "recordings",
        "region": "eu-west-1",
        "access_key_id": "AKIA-TEST",
        "has_secret_access_key": True,
    }
    assert (video["deleted"], video["deleted_at"]) == (False, None)
    assert video["created_at"] == ms(world.video.created_on)
    assert video["updated_at"] == ms(world.video.modified_on)
    assert video["version"] == world.video.version
    # Storage set, then cleared again.
    assert audio["storage"] is None
    assert (old["deleted"], old["deleted_at"]) == (True, NOW + timedelta(hours=1))
    assert "c2VjcmV0" not in str(list(database["rm_projects"].find()))


def test_a_storage_secret_is_removed_at_any_depth() -> None:
    from pulse.projections.projects import public_storage

    shown = public_storage({"bucket": "b", "nested": {"secret_access_key": "x", "keep": 1}})

    assert shown == {"bucket": "b", "nested": {"keep": 1}, "has_secret_access_key": False}
    assert public_storage(None) is None


def test_api_keys_follow_creation_revocation_rotation_and_regeneration(
    world: World, database: Database[Document]
) -> None:
    keys = {document["_id"]: document for document in database["rm_api_keys"].find()}

    assert set(keys) == {"pk_a", "pk_b", "pk_c", "pk_d", "pk_e"}
    assert {key["digest"] for key in keys.values()} == set(world.keys.values())
    for key in keys.values():
        assert key["project_id"] == sid(world.video.id)
        assert key["organization_id"] == sid(world.acme.id)
    # pk_a was rotated (grace 2 days), then caught by the regeneration (grace 5
    # days): a rotation never extends a key's life, so 2 days stands.
    assert keys["pk_a"]["expires_at"] == NOW + timedelta(days=2)
    assert keys["pk_b"]["revoked_at"] == NOW + timedelta(minutes=1)
    assert keys["pk_b"]["expires_at"] is None  # Revoked keys are not regenerated away.
    assert keys["pk_c"]["expires_at"] == NOW + timedelta(days=5)
    assert keys["pk_d"]["name"] == "key pk_a"  # A rotated key keeps its name...
    assert keys["pk_d"]["created_at"] == NOW + timedelta(minutes=2)
    assert keys["pk_d"]["expires_at"] == NOW + timedelta(days=5)  # ...until regenerated.
    assert keys["pk_e"] == {
        "_id": "pk_e",
        "project_id": sid(world.video.id),
        "organization_id": sid(world.acme.id),
        "name": "default",
        "digest": "digest-pk_e",
        "created_at": NOW + timedelta(minutes=3),
        "expires_at": None,
        "revoked_at": None,
        "version": world.video.version,
    }
    # What the aggregate itself says, key by key.
    for key_id, key in world.video.keys.items():
        assert keys[key_id]["expires_at"] == key.expires_at
        assert keys[key_id]["revoked_at"] == key.revoked_at


def test_invitations_record_status_inviter_and_acceptor(
    world: World, database: Database[Document]
) -> None:
    accepted = database["rm_invitations"].find_one({"_id": sid(world.accepted.id)})
    revoked = database["rm_invitations"].find_one({"_id": sid(world.revoked.id)})
    pending = database["rm_invitations"].find_one({"_id": sid(world.pending.id)})

    assert accepted == {
        "_id": sid(world.accepted.id),
        "organization_id": sid(world.acme.id),
        "email": "dave@example.test",
        "role": "developer",
        "status": "accepted",
        "expires_at": NOW + timedelta(days=7),
        "created_at": ms(world.accepted.created_on),
        "invited_by": {"actor_kind": "api_key", "actor_id": "pk_a"},
        "accepted_by": sid(world.accepted.accepted_by),  # type: ignore[arg-type]
        "updated_at": ms(world.accepted.modified_on),
        "version": 2,
    }
    assert revoked is not None
    assert pending is not None
    assert (revoked["status"], revoked["accepted_by"]) == ("revoked", None)
    assert (pending["status"], pending["organization_id"]) == ("pending", sid(world.globex.id))


def test_times_are_utc(world: World, database: Database[Document]) -> None:
    for name in ("rm_users", "rm_organizations", "rm_members", "rm_projects", "rm_invitations"):
        for document in database[name].find():
            for value in document.values():
                if isinstance(value, datetime):
                    assert value.utcoffset() == timedelta(0)
                    assert value.tzinfo is not None
    assert datetime.now(UTC) > NOW - timedelta(days=3650)
