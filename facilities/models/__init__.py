from .calendars import Closure, OperatingHours
from .catalog import Facility, Instrument, Qualification, QualificationRequest, RateCard, TimeShare
from .groups import GroupHourLimit, GroupMember, GroupSpendingLimit, ResearchGroup
from .holidays import Festival, HolidayDay, HolidaySchedule
from .invitations import Invitation
from .sharing import InstrumentRegistration, SharingMode
from .tenants import FundingAccount, Institution, Membership, User
from .tokens import ApiToken

__all__ = [
    "ApiToken",
    "Closure",
    "Facility",
    "Festival",
    "HolidayDay",
    "HolidaySchedule",
    "FundingAccount",
    "GroupHourLimit",
    "GroupMember",
    "GroupSpendingLimit",
    "Invitation",
    "ResearchGroup",
    "Institution",
    "Instrument",
    "InstrumentRegistration",
    "Membership",
    "OperatingHours",
    "Qualification",
    "QualificationRequest",
    "RateCard",
    "SharingMode",
    "TimeShare",
    "User",
]
