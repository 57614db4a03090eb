from .calendars import Closure, OperatingHours
from .catalog import Facility, Instrument, Qualification, RateCard, TimeShare
from .holidays import Festival, HolidayDay, HolidaySchedule
from .tenants import FundingAccount, Institution, Membership, User

__all__ = [
    "Closure",
    "Facility",
    "Festival",
    "HolidayDay",
    "HolidaySchedule",
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
