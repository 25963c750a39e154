"""WGS-84 and GCJ-02, the offset datum China's map SDKs (AMap, Tencent, Apple in China) return.

GCJ-02 adds to a WGS-84 point a deterministic, smooth offset of a few hundred metres (the
published "Mars coordinates" formula on the Krasovsky ellipsoid); outside China it adds
nothing. The reverse has no closed form: it is solved here by fixed-point iteration, which
converges to well under a millimetre in a few steps because the offset changes slowly.
"""
from __future__ import annotations

from math import cos, pi, sin, sqrt

COORD_SYSTEMS = ("wgs84", "gcj02")

_A = 6378245.0  # Krasovsky 1940 semi-major axis (m), as the formula uses it
_EE = 0.00669342162296594323  # its first eccentricity squared
# The offset applies inside this rectangle only (the formula's own test for "in China").
_CHINA = (72.004, 0.8293, 137.8347, 55.8271)


def _waves(x: float) -> float:
    return (20.0 * sin(6.0 * x * pi) + 20.0 * sin(2.0 * x * pi)) * 2.0 / 3.0


def _lat_shift(x: float, y: float) -> float:
    base = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(abs(x))
    return (base + _waves(x) + (20.0 * sin(y * pi) + 40.0 * sin(y / 3.0 * pi)) * 2.0 / 3.0
            + (160.0 * sin(y / 12.0 * pi) + 320.0 * sin(y * pi / 30.0)) * 2.0 / 3.0)


def _lng_shift(x: float, y: float) -> float:
    base = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(abs(x))
    return (base + _waves(x) + (20.0 * sin(x * pi) + 40.0 * sin(x / 3.0 * pi)) * 2.0 / 3.0
            + (150.0 * sin(x / 12.0 * pi) + 300.0 * sin(x / 30.0 * pi)) * 2.0 / 3.0)


def in_china(lat: float, lng: float) -> bool:
    """Whether GCJ-02 offsets this point at all."""
    west, south, east, north = _CHINA
    return west <= lng <= east and south <= lat <= north


def _offset(lat: float, lng: float) -> tuple[float, float]:
    """The GCJ-02 offset (dlat, dlng) in degrees at a WGS-84 point in China."""
    dlat = _lat_shift(lng - 105.0, lat - 35.0)
    dlng = _lng_shift(lng - 105.0, lat - 35.0)
    rad = lat / 180.0 * pi
    w = 1.0 - _EE * sin(rad) ** 2
    dlat = dlat * 180.0 / ((_A * (1.0 - _EE)) / (w * sqrt(w)) * pi)
    dlng = dlng * 180.0 / (_A / sqrt(w) * cos(rad) * pi)
    return dlat, dlng


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """The GCJ-02 point (lat, lng) a Chinese map SDK shows for a WGS-84 point."""
    if not in_china(lat, lng):
        return lat, lng
    dlat, dlng = _offset(lat, lng)
    return lat + dlat, lng + dlng


def gcj02_to_wgs84(lat: float, lng: float, *, tolerance: float = 1e-10) -> tuple[float, float]:
    """The WGS-84 point whose GCJ-02 image is (lat, lng), to within TOLERANCE degrees."""
    if not in_china(lat, lng):
        return lat, lng
    guess_lat, guess_lng = lat, lng
    for _ in range(30):
        image_lat, image_lng = wgs84_to_gcj02(guess_lat, guess_lng)
        err_lat, err_lng = image_lat - lat, image_lng - lng
        if abs(err_lat) < tolerance and abs(err_lng) < tolerance:
            break
        guess_lat, guess_lng = guess_lat - err_lat, guess_lng - err_lng
    return guess_lat, guess_lng


def to_wgs84(lat: float, lng: float, coord_system: str) -> tuple[float, float]:
    """A point given in COORD_SYSTEM (one of COORD_SYSTEMS) as WGS-84, rounded to 7 decimals (~1 cm)."""
    if coord_system == "gcj02":
        lat, lng = gcj02_to_wgs84(lat, lng)
    elif coord_system != "wgs84":
        raise ValueError(f"unknown coordinate system {coord_system!r}")
    return round(lat, 7), round(lng, 7)
