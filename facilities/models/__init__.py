from .calendars import Closure, OperatingHours
from .catalog import Facility, Instrument, Qualification, QualificationRequest, RateCard, TimeShare
from .companies import CompanyRegistration
from .groups import GroupHourLimit, GroupMember, GroupSpendingLimit, ResearchGroup
from .holidays import Festival, HolidayDay, HolidaySchedule
from .invitations import Invitation
from .joining import InstitutionDomain, JoinRequest
from .sharing import InstrumentRegistration, SharingMode
from .tenants import FundingAccount, Institution, JoinPolicy, Membership, User
from .tokens import ApiToken

__all__ = [
    "ApiToken",
    "Closure",
    "CompanyRegistration",
    "Facility",
    "Festival",
    "HolidayDay",
    "HolidaySchedule",
    "FundingAccount",
    "GroupHourLimit",
    "GroupMember",
    "GroupSpendingLimit",
    "Invitation",
    "InstitutionDomain",
    "JoinPolicy",
    "JoinRequest",
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
