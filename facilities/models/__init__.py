from .calendars import Closure, OperatingHours
from .catalog import Facility, Instrument, Qualification, RateCard, TimeShare
from .tenants import FundingAccount, Institution, Membership, User
from .tokens import ApiToken

__all__ = [
    "ApiToken",
    "Closure",
    "Facility",
    "FundingAccount",
    "Institution",
    "Instrument",
    "Membership",
    "OperatingHours",
    "Qualification",
    "RateCard",
    "TimeShare",
    "User",
]
