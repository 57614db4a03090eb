"""The drawn map of the Yangtze River Delta on the catalog page: rough province outlines and the
cities that host facilities, projected from longitude/latitude onto an SVG canvas.

Outlines are simplified by hand to a dozen points each: they place the provinces, not survey them."""

from collections import Counter
from math import cos, radians

from django.utils.translation import gettext_lazy as _

LON0, LAT0, SCALE = 114.6, 35.2, 100.0
X_SCALE = SCALE * cos(radians(31))  # keep shapes right at the delta's latitude

PROVINCES = {
    "anhui": [
        (115.6, 34.4),
        (116.6, 34.6),
        (117.2, 34.0),
        (118.0, 33.6),
        (118.8, 32.9),
        (118.5, 32.2),
        (119.2, 31.5),
        (119.6, 31.1),
        (119.0, 30.3),
        (118.3, 29.5),
        (117.2, 29.6),
        (116.5, 29.9),
        (115.9, 30.4),
        (115.4, 31.2),
        (114.9, 31.9),
        (115.3, 32.6),
        (115.4, 33.4),
    ],
    "jiangsu": [
        (116.6, 34.6),
        (117.6, 34.8),
        (118.6, 35.0),
        (119.4, 34.8),
        (120.3, 34.3),
        (120.9, 33.0),
        (121.9, 32.0),
        (121.3, 31.6),
        (120.9, 31.1),
        (120.3, 31.0),
        (119.6, 31.1),
        (119.2, 31.5),
        (118.5, 32.2),
        (118.8, 32.9),
        (118.0, 33.6),
        (117.2, 34.0),
    ],
    "shanghai": [
        (120.9, 31.1),
        (121.3, 31.6),
        (121.9, 31.5),
        (122.0, 31.0),
        (121.8, 30.8),
        (121.3, 30.7),
        (121.0, 30.8),
    ],
    "zhejiang": [
        (118.3, 29.5),
        (119.0, 30.3),
        (119.6, 31.1),
        (120.3, 31.0),
        (120.9, 31.1),
        (121.0, 30.8),
        (121.3, 30.7),
        (121.8, 30.8),
        (122.0, 30.0),
        (121.9, 29.0),
        (121.4, 28.2),
        (120.6, 27.2),
        (119.6, 27.7),
        (118.8, 28.2),
        (118.1, 28.9),
    ],
}
PROVINCE_LABELS = {
    "anhui": ((116.4, 32.9), _("Anhui")),
    "jiangsu": ((119.6, 33.6), _("Jiangsu")),
    "shanghai": ((122.9, 30.35), _("Shanghai")),
    "zhejiang": ((120.0, 28.8), _("Zhejiang")),
}
# Approximate city centres; label offsets keep neighbouring names apart.
CITIES = {
    "Shanghai": ((121.47, 31.23), _("Shanghai"), (16, 8)),
    "Hefei": ((117.23, 31.82), _("Hefei"), (-40, -22)),
    "Nanjing": ((118.80, 32.06), _("Nanjing"), (-60, -18)),
    "Suzhou": ((120.62, 31.30), _("Suzhou"), (-100, 30)),
    "Wuxi": ((120.30, 31.57), _("Wuxi"), (-80, -14)),
    "Kunshan": ((120.98, 31.38), _("Kunshan"), (-40, -20)),
    "Hangzhou": ((120.16, 30.27), _("Hangzhou"), (-150, 12)),
    "Tongxiang": ((120.56, 30.63), _("Tongxiang"), (12, 26)),
}


def project(lon: float, lat: float) -> tuple[float, float]:
    return round((lon - LON0) * X_SCALE, 1), round((LAT0 - lat) * SCALE, 1)


def region_map(facilities) -> dict:
    """Shapes and markers for the template; each marker counts the facilities of that city."""
    counts = Counter(f.city for f in facilities)
    provinces = []
    for code, points in PROVINCES.items():
        (lx, ly), label = PROVINCE_LABELS[code]
        x, y = project(lx, ly)
        provinces.append(
            {
                "code": code,
                "label": label,
                "x": x,
                "y": y,
                "points": " ".join("{},{}".format(*project(*p)) for p in points),
            }
        )
    markers = []
    for city, ((lon, lat), label, (dx, dy)) in CITIES.items():
        if not counts.get(city):
            continue
        x, y = project(lon, lat)
        markers.append(
            {
                "city": city,
                "label": label,
                "x": x,
                "y": y,
                "lx": x + dx,
                "ly": y + dy,
                "count": counts[city],
                "r": 6 + min(counts[city], 12),
            }
        )
    unplaced = sorted(set(counts) - set(CITIES))
    width, height = project(124.6, 27.0)
    return {"provinces": provinces, "markers": markers, "unplaced": unplaced, "width": width, "height": height}
