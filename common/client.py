"""Who is asking: the client's address, from the connection or from one configured proxy header.

Behind a proxy every request comes from the proxy's address, so the address the sign-in defences count
must come from a header the proxy sets. Only the header named in `CLIENT_IP_HEADER` is read, and only
when it is set: a header a client could send itself through no proxy would let it pick its own address.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: the right-most entry of the trusted header (what the nearest proxy wrote)
    when `CLIENT_IP_HEADER` names one and it holds an address, else the connection's `REMOTE_ADDR`."""
    header = getattr(settings, "CLIENT_IP_HEADER", "")
    if header:
        key = "HTTP_" + header.upper().replace("-", "_")
        raw = request.META.get(key, "")
        if raw:
            found = _valid(raw.split(",")[-1])
            if found is not None:
                return found
    return _valid(request.META.get("REMOTE_ADDR", "") or "")
