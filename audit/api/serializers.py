from rest_framework import serializers

from ..selectors import entry_row


class ChangeSerializer(serializers.Serializer):
    before = serializers.CharField(allow_null=True, required=False)
    after = serializers.CharField(allow_null=True, required=False)
    added = serializers.ListField(child=serializers.CharField(), required=False)
    removed = serializers.ListField(child=serializers.CharField(), required=False)


class AuditEntrySerializer(serializers.Serializer):
    """One audit entry: who (`actor`: a username, or "system"), when, through what, and before → after."""

    id = serializers.IntegerField()
    timestamp = serializers.DateTimeField()
    action = serializers.ChoiceField(choices=["create", "update", "delete"])
    model = serializers.CharField(help_text='"app_label.model", e.g. "facilities.closure"')
    object = serializers.CharField(help_text="The object's primary key (an API token's: its holder's id).")
    object_repr = serializers.CharField()
    actor = serializers.CharField()
    via = serializers.ChoiceField(choices=["web", "admin", "api", "task", "system"])
    changes = serializers.DictField(child=ChangeSerializer())
    institutions = serializers.ListField(child=serializers.CharField())

    def to_representation(self, instance):
        return entry_row(instance)


class AnonymisedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField(help_text="The pseudonym.")
    anonymised_at = serializers.DateTimeField()
