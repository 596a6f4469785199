"""Password hashing: argon2id, policy bounds, rehash detection, constant-cost misses."""

from __future__ import annotations

import time

import pytest
from argon2 import PasswordHasher

from pulse.domain.errors import InvalidValueError
from pulse.services import passwords


def test_hashes_are_argon2id_and_verify() -> None:
    hashed = passwords.hash_password("a long enough password")

    assert hashed.startswith("$argon2id$")
    assert passwords.verify_password(hashed, "a long enough password")
    assert not passwords.verify_password(hashed, "another long password")
    assert not passwords.needs_rehash(hashed)


def test_a_malformed_stored_hash_is_no_match() -> None:
    assert not passwords.verify_password("not a hash", "a long enough password")


def test_a_hash_with_weaker_parameters_needs_a_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("a long password")

    assert passwords.verify_password(weak, "a long password")
    assert passwords.needs_rehash(weak)


@pytest.mark.parametrize("length", [0, 11, 257, 1000])
def test_the_policy_refuses_lengths_outside_12_to_256(length: int) -> None:
    with pytest.raises(InvalidValueError):
        passwords.check_password_policy("x" * length)


@pytest.mark.parametrize("length", [12, 256])
def test_the_policy_accepts_the_bounds(length: int) -> None:
    passwords.check_password_policy("x" * length)


def test_a_miss_costs_about_as_much_as_a_verification() -> None:
    real = passwords.hash_password("a long enough password")
    passwords.warm_up()

    def cost(action: object) -> float:
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            action()  # type: ignore[operator]
            timings.append(time.perf_counter() - started)
        return min(timings)

    verify = cost(lambda: passwords.verify_password(real, "wrong password here"))
    miss = cost(lambda: passwords.spend_verification_time("wrong password here"))

    # Same parameters, same work: within a factor that leaves room for a busy machine
    # but not for the microseconds an unprotected miss would take.
    assert 0.5 < miss / verify < 2.0
