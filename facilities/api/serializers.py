from rest_framework import serializers

from ..models import Facility, FundingAccount, Instrument


class FacilitySerializer(serializers.ModelSerializer):
    """The SPEC's fields, each text also in Chinese beside it (`name` + `name_zh`, `city` + `city_zh`,
    `host` + `host_zh`): readers show the one in their language."""

    host = serializers.SerializerMethodField()
    host_zh = serializers.SerializerMethodField()

    class Meta:
        model = Facility
        fields = ["code", "name", "name_zh", "province", "city", "city_zh", "host", "host_zh", "category", "status"]

    def get_host(self, obj: Facility) -> str:
        return obj.host_label or obj.host.name

    def get_host_zh(self, obj: Facility) -> str:
        return obj.host_label_zh or obj.host.name_zh


class InstrumentSerializer(serializers.ModelSerializer):
    facility = serializers.CharField(source="facility.code", read_only=True)

    class Meta:
        model = Instrument
        fields = [
            "id",
            "code",
            "name",
            "name_zh",
            "facility",
            "category",
            "description",
            "description_zh",
            "keywords",
            "keywords_zh",
            "booking_unit_minutes",
            "min_minutes",
            "max_minutes",
            "lead_time_minutes",
            "horizon_days",
            "buffer_minutes",
            "requires_approval",
            "requires_qualification",
        ]


class FacilityDetailSerializer(FacilitySerializer):
    instruments = InstrumentSerializer(many=True, read_only=True)

    class Meta(FacilitySerializer.Meta):
        fields = FacilitySerializer.Meta.fields + [
            "description",
            "description_zh",
            "website",
            "booked_as",
            "booked_as_zh",
            "follows_office_calendar",
            "instruments",
        ]


class AccountSerializer(serializers.ModelSerializer):
    institution = serializers.CharField(source="institution.code", read_only=True)
    principal_investigator = serializers.CharField(source="principal_investigator.username", read_only=True)

    class Meta:
        model = FundingAccount
        fields = [
            "id",
            "code",
            "title",
            "title_zh",
            "kind",
            "institution",
            "principal_investigator",
            "valid_from",
            "valid_until",
            "budget_cap",
            "active",
        ]


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    institution = serializers.CharField(allow_null=True)
    roles = serializers.ListField(child=serializers.CharField())
    calendar_url = serializers.URLField()


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
