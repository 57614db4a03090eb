"""What the booking API reads and writes. Input is checked strictly (see parsing.py); output is built
from rows already loaded by the view, so a page of bookings costs the same few queries at any size."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.parsing import AwareDateTimeField, StrictIntegerField, StrictTextField, json_type
from common.time import iso_local

from ..models import Booking
from ..rules import MAX_PURPOSE_LENGTH
from ..selectors import booking_fields

MAX_SPLITS = 20
MAX_REASON_LENGTH = 2000


@extend_schema_field(OpenApiTypes.DECIMAL)
class PercentField(serializers.Field):
    """A number or a decimal string; the booking service checks its range and its two decimals."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float, str)):
            raise serializers.ValidationError(
                _('Must be a number such as 50 or "33.33", not %(json_type)s.') % {"json_type": json_type(data)}
            )
        if isinstance(data, str) and len(data) > 12:
            raise serializers.ValidationError(_("Is too long to be a percent."))
        return data

    def to_representation(self, value):
        return str(value)


class SplitInSerializer(serializers.Serializer):
    account = StrictIntegerField(
        min_value=1, max_value=2**53, help_text="A funding account id (GET /api/v1/accounts/)."
    )
    percent = PercentField(help_text="Share of the cost, above 0 and at most 100, two decimals at most.")


class BookingCreateSerializer(serializers.Serializer):
    instrument = StrictIntegerField(min_value=1, max_value=2**53)
    start = AwareDateTimeField(help_text="ISO 8601 with offset, e.g. 2026-12-01T09:00:00+08:00.")
    end = AwareDateTimeField()
    purpose = StrictTextField(
        max_length=MAX_PURPOSE_LENGTH, allow_blank=True, required=False, default="", trim_whitespace=False
    )
    # DRF passes max_length and allow_empty to the ListSerializer that many=True makes; the stubs do not know it.
    splits = SplitInSerializer(  # type: ignore[call-arg]
        many=True, required=False, max_length=MAX_SPLITS, allow_empty=True
    )
    on_behalf_of = StrictTextField(
        max_length=150,
        required=False,
        help_text=(
            "Username of the user the booking is for; only the instrument's facility managers (and platform "
            "admins) may give it. The booking is that user's, under their rules and charged to their accounts "
            "(`splits` names their accounts; none: their default account)."
        ),
    )

    def validate(self, attrs):
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": _("The end must be after the start.")})
        return attrs


class BookingReasonSerializer(serializers.Serializer):
    reason = StrictTextField(max_length=MAX_REASON_LENGTH, allow_blank=True, required=False, default="")


class CompleteSerializer(serializers.Serializer):
    actual_start = AwareDateTimeField(required=False)
    actual_end = AwareDateTimeField(required=False)


class SplitOutSerializer(serializers.Serializer):
    account = serializers.IntegerField()
    percent = serializers.CharField(help_text='Decimal string, e.g. "100.00".')


class BookingOutSerializer(serializers.Serializer):
    """The contract's booking object; `purpose` is null for anyone who may not read it."""

    id = serializers.IntegerField()
    instrument = serializers.IntegerField()
    start = serializers.CharField()
    end = serializers.CharField()
    status = serializers.ChoiceField(choices=Booking.Status.choices)
    requester = serializers.CharField()
    institution = serializers.CharField()
    purpose = serializers.CharField(allow_null=True)
    splits = SplitOutSerializer(many=True)
    facility = serializers.CharField()
    instrument_code = serializers.CharField()
    hold_end = serializers.CharField(help_text="End of the changeover buffer the booking keeps free.")
    sequence = serializers.IntegerField()


class ConflictSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    conflicts = serializers.ListField(child=serializers.DictField(), required=False)


def booking_json(booking: Booking, *, show_purpose: bool) -> dict:
    """The booking as the API shows it: the contract's object and what the pages need besides.
    Expects instrument__facility, requester, institution and splits to be loaded already."""
    return {
        **booking_fields(booking, show_purpose=show_purpose),
        "facility": booking.instrument.facility.code,
        "instrument_code": booking.instrument.code,
        "hold_end": iso_local(booking.hold_end),
        "sequence": booking.sequence,
    }
