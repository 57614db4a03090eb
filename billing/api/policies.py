"""An instrument's charge policy over HTTP, for its facility's managers (docs/billing.md#charges)."""

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from common.parsing import JSONParser, StrictIntegerField, json_body

from ..models import BillingModel, ChargePolicy
from ..services.policies import POLICY_FIELDS, charge_policy_of, charge_policy_update


def _percent(help_text: str):
    return serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False, help_text=help_text
    )


class ChargePolicySerializer(serializers.Serializer):
    """On PATCH every field is optional; money and percents are decimal strings."""

    billing_model = serializers.ChoiceField(choices=BillingModel.choices, required=False)
    minimum_charge = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text="CNY; a used booking costs at least this.",
    )
    minimum_minutes = StrictIntegerField(
        min_value=0, max_value=60 * 24 * 366, required=False, help_text="With used_min: the fewest minutes charged."
    )
    no_show_percent = _percent("Percent of the booked-time fee charged for a no-show.")
    late_cancel_hours = StrictIntegerField(
        min_value=0,
        max_value=24 * 366,
        required=False,
        help_text="A cancellation closer than this to the start is late.",
    )
    late_cancel_percent = _percent("Percent of the booked-time fee charged for a late cancellation.")


def policy_json(policy: ChargePolicy) -> dict:
    return {
        "instrument": policy.instrument_id,
        "billing_model": policy.billing_model,
        "minimum_charge": f"{policy.minimum_charge:.2f}",
        "minimum_minutes": policy.minimum_minutes,
        "no_show_percent": f"{policy.no_show_percent:.2f}",
        "late_cancel_hours": policy.late_cancel_hours,
        "late_cancel_percent": f"{policy.late_cancel_percent:.2f}",
    }


class InstrumentChargePolicy(APIView):
    """GET or PATCH how an instrument charges (its facility's managers and platform administrators)."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(responses={200: ChargePolicySerializer})
    def get(self, request, pk: int):
        return Response(policy_json(charge_policy_of(actor=request.user, instrument_id=pk)))

    @extend_schema(request=ChargePolicySerializer, responses={200: ChargePolicySerializer})
    def patch(self, request, pk: int):
        charge_policy_of(actor=request.user, instrument_id=pk)  # 404 / 403 before the body is read
        body = json_body(request)
        serializer = ChargePolicySerializer(data=body, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = {k: v for k, v in serializer.validated_data.items() if k in POLICY_FIELDS}
        unknown = sorted(set(body) - set(POLICY_FIELDS))
        policy = charge_policy_update(
            actor=request.user, instrument_id=pk, changes={**changes, **dict.fromkeys(unknown)}
        )
        return Response(policy_json(policy))
