"""Shapes of the usage API, for the OpenAPI schema and for the answers (times ISO 8601 in +08:00)."""

from rest_framework import serializers

from common.time import iso_local

from ..models import UsageSession


def session_json(s: UsageSession) -> dict:
    return {
        "id": s.pk,
        "instrument": s.instrument_id,
        "user": s.user.username if s.user_id and s.user else None,
        "booking": s.booking_id,
        "start": iso_local(s.start),
        "end": iso_local(s.end) if s.end else None,
        "last_seen": iso_local(s.last_seen),
        "source": s.source,
        "ended_by": s.ended_by or None,
        "reason": s.reason,
        "corrected": s.corrected_at is not None,
        "validated_by": s.validated_by.username if s.validated_by_id and s.validated_by else None,
        "validated_at": iso_local(s.validated_at) if s.validated_at else None,
    }


class SessionOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    instrument = serializers.IntegerField()
    user = serializers.CharField(allow_null=True)
    booking = serializers.IntegerField(allow_null=True)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(allow_null=True)
    last_seen = serializers.DateTimeField()
    source = serializers.ChoiceField(choices=UsageSession.Source.choices)
    ended_by = serializers.ChoiceField(choices=UsageSession.EndedBy.choices, allow_null=True)
    reason = serializers.CharField()
    corrected = serializers.BooleanField()
    validated_by = serializers.CharField(allow_null=True)
    validated_at = serializers.DateTimeField(allow_null=True)


class SessionRecordSerializer(serializers.Serializer):
    instrument = serializers.IntegerField()
    username = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    booking = serializers.IntegerField(required=False, allow_null=True)
    reason = serializers.CharField()


class SessionCorrectSerializer(serializers.Serializer):
    start = serializers.DateTimeField(required=False)
    end = serializers.DateTimeField(required=False)
    booking = serializers.IntegerField(required=False, allow_null=True)
    reason = serializers.CharField()


class UsageStatusSerializer(serializers.Serializer):
    instrument = serializers.IntegerField()
    in_use = serializers.BooleanField()
    since = serializers.DateTimeField(allow_null=True)
    source = serializers.CharField(allow_null=True)


class AgentKeySerializer(serializers.Serializer):
    instrument = serializers.IntegerField()
    key = serializers.CharField(help_text="Shown once; only an encrypted copy is kept.")
    rotated_at = serializers.DateTimeField()


class AgentEventSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=64)
    type = serializers.ChoiceField(choices=["start", "heartbeat", "stop"])
    at = serializers.DateTimeField()
    user = serializers.CharField(required=False)


class AgentBatchSerializer(serializers.Serializer):
    nonce = serializers.CharField(min_length=8, max_length=64)
    events = AgentEventSerializer(many=True)


class AgentResultSerializer(serializers.Serializer):
    accepted = serializers.ListField(child=serializers.CharField())
    duplicates = serializers.ListField(child=serializers.CharField())


class UsageSettingsSerializer(serializers.Serializer):
    instrument = serializers.IntegerField(read_only=True)
    checkin_early_minutes = serializers.IntegerField(min_value=0, max_value=24 * 60)
    no_show_after_minutes = serializers.IntegerField(min_value=1, max_value=24 * 60, allow_null=True)
    heartbeat_timeout_minutes = serializers.IntegerField(min_value=1, max_value=24 * 60)
    agent_key_rotated_at = serializers.DateTimeField(read_only=True, allow_null=True)


def violation_json(v) -> dict:
    return {
        "id": v.pk,
        "user": v.user.username,
        "facility": v.facility.code,
        "booking": v.booking_id,
        "kind": v.kind,
        "occurred_at": iso_local(v.occurred_at),
        "detail": v.detail,
        "waived": v.waived,
    }


def suspension_json(s) -> dict:
    return {
        "id": s.pk,
        "user": s.user.username,
        "facility": s.facility.code,
        "starts_at": iso_local(s.starts_at),
        "ends_at": iso_local(s.ends_at),
        "reason": s.reason,
        "appeal": s.appeal,
        "appeal_text": s.appeal_text,
        "decided_by": s.decided_by.username if s.decided_by_id and s.decided_by else None,
        "decision_reason": s.decision_reason,
    }


class ViolationOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user = serializers.CharField()
    facility = serializers.CharField()
    booking = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["no_show", "late_cancellation", "short_use"])
    occurred_at = serializers.DateTimeField()
    detail = serializers.CharField()
    waived = serializers.BooleanField()


class SuspensionOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user = serializers.CharField()
    facility = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    reason = serializers.CharField()
    appeal = serializers.ChoiceField(choices=["none", "pending", "granted", "rejected"])
    appeal_text = serializers.CharField()
    decided_by = serializers.CharField(allow_null=True)
    decision_reason = serializers.CharField()


class AppealSerializer(serializers.Serializer):
    text = serializers.CharField()


class DecideSerializer(serializers.Serializer):
    grant = serializers.BooleanField()
    reason = serializers.CharField()


class ViolationPolicySerializer(serializers.Serializer):
    facility = serializers.CharField(read_only=True)
    active = serializers.BooleanField()
    max_violations = serializers.IntegerField(min_value=1)
    window_days = serializers.IntegerField(min_value=1)
    suspension_days = serializers.IntegerField(min_value=1)
    short_use_percent = serializers.IntegerField(min_value=0, max_value=100)
