from .calendars import Closure, OperatingHours
from .catalog import Facility, Instrument, Qualification, RateCard, TimeShare
from .sharing import InstrumentRegistration, SharingMode
from .tenants import FundingAccount, Institution, Membership, User
from .tokens import ApiToken

__all__ = [
    "ApiToken",
    "Closure",
    "Facility",
    "FundingAccount",
    "Institution",
    "Instrument",
    "InstrumentRegistration",
    "Membership",
    "OperatingHours",
    "Qualification",
    "RateCard",
    "SharingMode",
    "TimeShare",
    "User",
]
