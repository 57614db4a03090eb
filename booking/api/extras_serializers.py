"""Input and output of the series, bundle, move and waitlist endpoints. Bookings themselves are shown
exactly as the core booking API shows them (serializers.booking_json)."""

from django.utils.translation import gettext as _
from rest_framework import serializers

from common.parsing import AwareDateTimeField, StrictIntegerField, StrictTextField, json_type
from common.time import iso_local

from ..models import WaitlistEntry
from ..rules import MAX_PURPOSE_LENGTH
from ..services.bundles import MAX_ITEMS
from ..services.series import MAX_INTERVAL_WEEKS, MAX_OCCURRENCES
from .serializers import MAX_SPLITS, BookingOutSerializer, SplitInSerializer


class StrictBooleanField(serializers.BooleanField):
    """true or false, never "yes", 1 or "true"."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            raise serializers.ValidationError(
                _("Must be true or false, not %(json_type)s.") % {"json_type": json_type(data)}
            )
        return data


def _ordered(attrs: dict) -> dict:
    if attrs["end"] <= attrs["start"]:
        raise serializers.ValidationError({"end": _("The end must be after the start.")})
    return attrs


class _Paid(serializers.Serializer):
    purpose = StrictTextField(
        max_length=MAX_PURPOSE_LENGTH, allow_blank=True, required=False, default="", trim_whitespace=False
    )
    # max_length/min_length go to the ListSerializer that many=True makes; the stubs do not know it.
    splits = SplitInSerializer(many=True, required=False, max_length=MAX_SPLITS, allow_empty=True)  # type: ignore[call-arg]


class SeriesCreateSerializer(_Paid):
    instrument = StrictIntegerField(min_value=1, max_value=2**53)
    start = AwareDateTimeField(help_text="The first occurrence's start, ISO 8601 with offset.")
    end = AwareDateTimeField(help_text="The first occurrence's end.")
    count = StrictIntegerField(
        min_value=1, max_value=MAX_OCCURRENCES, help_text=f"Occurrences, 1 to {MAX_OCCURRENCES}."
    )
    interval_weeks = StrictIntegerField(min_value=1, max_value=MAX_INTERVAL_WEEKS, required=False, default=1)
    skip_conflicts = StrictBooleanField(
        required=False,
        default=False,
        help_text="false (default): all or nothing. true: book the free occurrences and report the rest.",
    )

    def validate(self, attrs):
        return _ordered(attrs)


class BundleItemSerializer(serializers.Serializer):
    instrument = StrictIntegerField(min_value=1, max_value=2**53)
    start = AwareDateTimeField()
    end = AwareDateTimeField()

    def validate(self, attrs):
        return _ordered(attrs)


class BundleCreateSerializer(_Paid):
    items = BundleItemSerializer(many=True, min_length=1, max_length=MAX_ITEMS)  # type: ignore[call-arg]


class MoveSerializer(serializers.Serializer):
    start = AwareDateTimeField(help_text="The new start, ISO 8601 with offset.")
    end = AwareDateTimeField(help_text="The new end.")

    def validate(self, attrs):
        return _ordered(attrs)


class PayersSerializer(serializers.Serializer):
    # max_length goes to the ListSerializer that many=True makes; the stubs do not know it.
    splits = SplitInSerializer(  # type: ignore[call-arg]
        many=True,
        max_length=MAX_SPLITS,
        allow_empty=True,
        help_text="The new split across your funding accounts, percents adding up to 100; empty: your default "
        "account pays all.",
    )


class WaitlistJoinSerializer(serializers.Serializer):
    instrument = StrictIntegerField(min_value=1, max_value=2**53)
    start = AwareDateTimeField()
    end = AwareDateTimeField()

    def validate(self, attrs):
        return _ordered(attrs)


class WaitlistAcceptSerializer(_Paid):
    pass


class OccurrenceProblemSerializer(serializers.Serializer):
    occurrence = serializers.IntegerField()
    start = serializers.CharField()
    end = serializers.CharField()
    code = serializers.CharField(help_text="slot_unavailable or rule_violation")
    detail = serializers.CharField()
    conflicts = serializers.ListField(child=serializers.DictField(), required=False)


class SeriesOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    instrument = serializers.IntegerField()
    count = serializers.IntegerField()
    interval_weeks = serializers.IntegerField()
    bookings = BookingOutSerializer(many=True)
    skipped = OccurrenceProblemSerializer(many=True)


class BundleOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    purpose = serializers.CharField()
    bookings = BookingOutSerializer(many=True)


class WaitlistEntryOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    instrument = serializers.IntegerField()
    start = serializers.CharField()
    end = serializers.CharField()
    status = serializers.ChoiceField(choices=WaitlistEntry.Status.choices)
    created_at = serializers.CharField()
    offered_at = serializers.CharField(allow_null=True)
    offer_expires_at = serializers.CharField(allow_null=True)


def waitlist_json(entry: WaitlistEntry) -> dict:
    def opt(moment):
        return iso_local(moment) if moment else None

    return {
        "id": entry.pk,
        "instrument": entry.instrument_id,
        "start": iso_local(entry.start),
        "end": iso_local(entry.end),
        "status": entry.status,
        "created_at": iso_local(entry.created_at),
        "offered_at": opt(entry.offered_at),
        "offer_expires_at": opt(entry.offer_expires_at),
    }
