"""Regions a project can be placed in (the product plan's six regions)."""

from __future__ import annotations

REGIONS: tuple[str, ...] = (
    "us-east",
    "us-west",
    "eu-west",
    "eu-central",
    "asia-south",
    "asia-southeast",
)
