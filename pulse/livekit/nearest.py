"""The region nearest to a point on Earth, by great-circle distance."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from pulse.livekit.regions import CATALOG, RegionInfo

EARTH_RADIUS_KM = 6371.0088  # Mean radius (IUGG).


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance; well-conditioned for the short distances that matter most."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Nearest:
    region: RegionInfo
    distance_km: float
    nearest_overall: RegionInfo
    """The nearest region regardless of health (the same as ``region`` when it is up)."""


def nearest(latitude: float, longitude: float, usable: Callable[[str], bool]) -> Nearest:
    """The nearest region that is ``usable``; the nearest of all if none is."""
    ranked = sorted(
        CATALOG.values(),
        key=lambda info: distance_km(latitude, longitude, info.latitude, info.longitude),
    )
    chosen = next((info for info in ranked if usable(info.code)), ranked[0])
    return Nearest(
        region=chosen,
        distance_km=round(distance_km(latitude, longitude, chosen.latitude, chosen.longitude), 1),
        nearest_overall=ranked[0],
    )
