"""Thin adapters from HTTP to receivables: fapiao, red-letter confirmations, balances, bank statements,
payments and the receivables report (docs/receivables.md)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from common.parsing import JSONParser
from common.time import iso_local, local_tz
from facilities.models import Institution

from ..bank_statements import bank_formats
from ..exports.fapiao_batch import write_batch
from ..exports.receivables_xlsx import write_receivables
from ..exports.xlsx_export import XLSX_TYPE, xlsx_response
from ..models import BankPayment, BuyerTaxInfo, Fapiao, InvoiceKind, InvoiceStatus, StatementImport
from ..payment_reference import payment_reference
from ..periods import parse_period
from ..receivables import (
    BUCKETS,
    active_bank_account,
    balance_of,
    payments_visible_to,
    receivable_institutions,
    receivables_by_payer,
    with_balances,
)
from ..selectors import finance_institution_ids, invoices_visible_to
from ..services import fapiao as fapiao_service
from ..services import payments as payment_service
from .serializers import money
from .views import FileNegotiation


def _visible_invoice(user, pk: int):
    invoice = with_balances(invoices_visible_to(user)).filter(pk=pk).first()
    if invoice is None:
        raise Http404(_("No such invoice, or you may not see it."))
    return invoice


class FapiaoSerializer(serializers.ModelSerializer):
    invoice = serializers.IntegerField(source="invoice_id")
    tax_rate = serializers.SerializerMethodField()
    tax_amount = serializers.SerializerMethodField()
    file = serializers.SerializerMethodField()
    recorded_at = serializers.SerializerMethodField()

    class Meta:
        model = Fapiao
        fields = [
            "invoice",
            "number",
            "kind",
            "issued_on",
            "buyer_name",
            "buyer_tax_id",
            "tax_rate",
            "tax_amount",
            "file_type",
            "file",
            "provider",
            "recorded_at",
        ]

    def get_tax_rate(self, f) -> str:
        return f"{f.tax_rate:.2f}"

    def get_tax_amount(self, f) -> str:
        return money(f.tax_amount)

    def get_file(self, f) -> str | None:
        return f"/api/v1/invoices/{f.invoice_id}/fapiao/file/" if f.file else None

    def get_recorded_at(self, f) -> str:
        return iso_local(f.recorded_at)


class FapiaoInputSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=40, help_text="20 digits (数电票)")
    kind = serializers.ChoiceField(choices=Fapiao.Kind.choices)
    issued_on = serializers.DateField(help_text="YYYY-MM-DD")
    buyer_name = serializers.CharField(max_length=200)
    buyer_tax_id = serializers.CharField(max_length=40, help_text="统一社会信用代码, 18 characters")
    tax_rate = serializers.DecimalField(max_digits=4, decimal_places=2, help_text="e.g. 0.06")
    tax_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    file = serializers.FileField(required=False, help_text="PDF, OFD or XML")


class FapiaoView(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(responses={200: FapiaoSerializer})
    def get(self, request, pk: int):
        invoice = _visible_invoice(request.user, pk)
        fapiao = Fapiao.objects.filter(invoice=invoice).first()
        if fapiao is None:
            raise Http404(_("This invoice has no fapiao recorded yet."))
        return Response(FapiaoSerializer(fapiao).data)

    @extend_schema(request={"multipart/form-data": FapiaoInputSerializer}, responses={201: FapiaoSerializer})
    def post(self, request, pk: int):
        data = FapiaoInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        upload = v.get("file")
        content = b"".join(upload.chunks()) if upload else b""
        fapiao = fapiao_service.fapiao_record(
            actor=request.user,
            invoice_id=pk,
            number=v["number"],
            kind=v["kind"],
            issued_on=v["issued_on"],
            buyer_name=v["buyer_name"],
            buyer_tax_id=v["buyer_tax_id"],
            tax_rate=v["tax_rate"],
            tax_amount=v["tax_amount"],
            file_name=upload.name if upload else "",
            file_content=content,
        )
        return Response(FapiaoSerializer(fapiao).data, status=status.HTTP_201_CREATED)


class FapiaoFileView(APIView):
    permission_classes = [IsAuthenticated]
    content_negotiation_class = FileNegotiation

    @extend_schema(responses={(200, "application/pdf"): bytes})
    def get(self, request, pk: int):
        invoice = _visible_invoice(request.user, pk)
        fapiao = Fapiao.objects.filter(invoice=invoice).first()
        if fapiao is None or not fapiao.file:
            raise Http404(_("This invoice has no fapiao file."))
        types = {"pdf": "application/pdf", "ofd": "application/ofd", "xml": "application/xml"}
        return FileResponse(
            fapiao.file.open("rb"),
            as_attachment=True,
            filename=f"{fapiao.number}.{fapiao.file_type}",
            content_type=types[fapiao.file_type],
        )


class ProviderIssueSerializer(serializers.Serializer):
    buyer_tax_id = serializers.CharField(max_length=40, required=False, help_text="default: the payer's tax info")
    kind = serializers.ChoiceField(choices=Fapiao.Kind.choices, required=False)


class FapiaoIssueView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=ProviderIssueSerializer, responses={201: FapiaoSerializer})
    def post(self, request, pk: int):
        data = ProviderIssueSerializer(data=request.data if isinstance(request.data, dict) else {})
        data.is_valid(raise_exception=True)
        invoice = _visible_invoice(request.user, pk)
        info = BuyerTaxInfo.objects.filter(institution_id=invoice.payer_id).first()
        tax_id = data.validated_data.get("buyer_tax_id") or (info.tax_id if info else "")
        if not tax_id:
            raise ValidationError({"buyer_tax_id": _("The payer has no tax information on file; send buyer_tax_id.")})
        kind = data.validated_data.get("kind") or (info.fapiao_kind if info else Fapiao.Kind.NORMAL)
        fapiao = fapiao_service.fapiao_issue_through_provider(
            actor=request.user, invoice_id=pk, buyer_tax_id=tax_id, kind=kind
        )
        return Response(FapiaoSerializer(fapiao).data, status=status.HTTP_201_CREATED)


class RedLetterSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=40, help_text="红字确认单编号, 20 digits")
    confirmed_on = serializers.DateField()


class RedLetterView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=RedLetterSerializer,
        responses={
            201: inline_serializer(
                "RedLetterConfirmation",
                {
                    "credit_note": serializers.IntegerField(),
                    "number": serializers.CharField(),
                    "confirmed_on": serializers.DateField(),
                },
            )
        },
    )
    def post(self, request, pk: int):
        data = RedLetterSerializer(data=request.data if isinstance(request.data, dict) else {})
        data.is_valid(raise_exception=True)
        red = fapiao_service.red_letter_record(
            actor=request.user,
            credit_note_id=pk,
            number=data.validated_data["number"],
            confirmed_on=data.validated_data["confirmed_on"],
        )
        return Response(
            {"credit_note": red.credit_note_id, "number": red.number, "confirmed_on": red.confirmed_on.isoformat()},
            status=status.HTTP_201_CREATED,
        )


class BalanceSerializer(serializers.Serializer):
    invoice = serializers.IntegerField()
    number = serializers.CharField(allow_null=True)
    payer = serializers.CharField()
    total = serializers.CharField()
    credited = serializers.CharField()
    received = serializers.CharField()
    balance = serializers.CharField()
    state = serializers.ChoiceField(choices=["unpaid", "partly_paid", "paid", "overpaid"])
    days = serializers.IntegerField()
    ageing = serializers.CharField(allow_null=True)
    payment_reference = serializers.CharField()
    bank_account = serializers.DictField(allow_null=True)


def balance_data(invoice) -> dict:
    b = balance_of(invoice)
    bank = active_bank_account(invoice.issuer_id)
    return {
        "invoice": invoice.pk,
        "number": invoice.number,
        "payer": invoice.payer.code,
        "total": money(b.total),
        "credited": money(b.credited),
        "received": money(b.received),
        "balance": money(b.balance),
        "state": b.state,
        "days": b.days,
        "ageing": b.bucket,
        "payment_reference": payment_reference(invoice),
        "bank_account": (
            {"bank": bank.bank_name, "name": bank.account_name, "number": bank.account_number} if bank else None
        ),
    }


class BalanceView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: BalanceSerializer})
    def get(self, request, pk: int):
        invoice = _visible_invoice(request.user, pk)
        if invoice.kind != InvoiceKind.INVOICE or invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.PAID):
            raise Http404(_("Only an issued invoice has a balance."))
        return Response(balance_data(invoice))


def _books_or_403(user) -> list[int]:
    ids = receivable_institutions(user)
    if not ids and not user.is_superuser:
        raise PermissionDenied(_("Only finance staff keep receivables."))
    return ids


class FapiaoBatchView(APIView):
    """The month's issued invoices and credit notes of the issuer, in the tax tool's batch-import layout."""

    permission_classes = [IsAuthenticated]
    content_negotiation_class = FileNegotiation

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, required=True, description="YYYY-MM"),
            OpenApiParameter("pending", bool, description="Only those without a fapiao yet (default true)"),
        ],
        responses={(200, XLSX_TYPE): bytes},
    )
    def get(self, request):
        period = parse_period(request.query_params.get("period"))
        pending = request.query_params.get("pending", "true").lower()
        if pending not in ("true", "false"):
            raise ValidationError({"pending": _("Choose true or false.")})
        mine = set(_books_or_403(request.user))
        qs = (
            invoices_visible_to(request.user)
            .filter(issuer_id__in=mine, period=period, status__in=[InvoiceStatus.ISSUED, InvoiceStatus.PAID])
            .filter(Q(kind=InvoiceKind.INVOICE) | Q(kind=InvoiceKind.CREDIT_NOTE, red_letter__isnull=False))
            .order_by("issuer__code", "number")
        )
        if pending == "true":
            qs = qs.filter(fapiao__isnull=True)
        handle = write_batch(list(qs))
        return xlsx_response(f"fapiao-batch-{period}.xlsx", handle)


class StatementSerializer(serializers.ModelSerializer):
    bank_account = serializers.IntegerField(source="bank_account_id")
    imported_at = serializers.SerializerMethodField()
    imported_by = serializers.SerializerMethodField()

    class Meta:
        model = StatementImport
        fields = [
            "id",
            "bank_account",
            "bank_format",
            "filename",
            "rows_read",
            "payments_new",
            "payments_known",
            "payments_matched",
            "imported_by",
            "imported_at",
        ]

    def get_imported_at(self, s) -> str:
        return iso_local(s.imported_at)

    def get_imported_by(self, s) -> str | None:
        return s.imported_by.username if s.imported_by_id else None


class StatementUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV (GBK or UTF-8) or XLSX as exported by the bank")
    bank = serializers.CharField(required=False, help_text="Layout code (icbc, boc…); default: recognised")
    account = serializers.IntegerField(
        required=False, min_value=1, max_value=2**53, help_text="Bank account id; default: the only one"
    )


class StatementListView(generics.ListCreateAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = StatementSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        ids = _books_or_403(self.request.user)
        return StatementImport.objects.filter(bank_account__institution_id__in=ids).select_related("imported_by")

    @extend_schema(request={"multipart/form-data": StatementUploadSerializer}, responses={201: StatementSerializer})
    def post(self, request, *args, **kwargs):
        data = StatementUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if v.get("bank") and v["bank"] not in bank_formats():
            raise ValidationError({"bank": _("Choose one of %(value)s.") % {"value": ", ".join(bank_formats())}})
        upload = v["file"]
        statement = payment_service.statement_import(
            actor=request.user,
            filename=upload.name,
            content=b"".join(upload.chunks()),
            bank=v.get("bank"),
            bank_account_id=v.get("account"),
        )
        return Response(StatementSerializer(statement).data, status=status.HTTP_201_CREATED)


class PaymentSerializer(serializers.ModelSerializer):
    amount = serializers.SerializerMethodField()
    applied = serializers.SerializerMethodField()
    matches = serializers.SerializerMethodField()

    class Meta:
        model = BankPayment
        fields = [
            "id",
            "bank_account",
            "statement",
            "value_date",
            "amount",
            "applied",
            "payer_name",
            "payer_account",
            "memo",
            "bank_reference",
            "status",
            "note",
            "matches",
        ]

    def get_amount(self, p) -> str:
        return money(p.amount)

    def get_applied(self, p) -> str:
        return money(p.applied)

    def get_matches(self, p) -> list[dict]:
        return [
            {
                "invoice": m.invoice_id,
                "amount": money(m.amount),
                "method": m.method,
                "matched_by": m.matched_by.username if m.matched_by_id else None,
                "matched_at": iso_local(m.matched_at),
            }
            for m in p.matches.all()
        ]


class PaymentListView(generics.ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = PaymentSerializer

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=list(BankPayment.Status.values))])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        _books_or_403(self.request.user)
        qs = payments_visible_to(self.request.user).prefetch_related("matches__matched_by")
        wanted = self.request.query_params.get("status")
        if wanted:
            if wanted not in BankPayment.Status.values:
                raise ValidationError(
                    {"status": _("Choose one of %(value)s.") % {"value": ", ".join(BankPayment.Status.values)}}
                )
            qs = qs.filter(status=wanted)
        return qs.order_by("value_date", "id")


class AssignSerializer(serializers.Serializer):
    invoice = serializers.IntegerField(min_value=1, max_value=2**53)
    amount = serializers.DecimalField(
        max_digits=16, decimal_places=2, required=False, help_text="default: all that is left"
    )


class PaymentAssignView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=AssignSerializer, responses={201: PaymentSerializer})
    def post(self, request, pk: int):
        data = AssignSerializer(data=request.data if isinstance(request.data, dict) else {})
        data.is_valid(raise_exception=True)
        payment_service.payment_assign(
            actor=request.user,
            payment_id=pk,
            invoice_id=data.validated_data["invoice"],
            amount=data.validated_data.get("amount"),
        )
        payment = BankPayment.objects.prefetch_related("matches__matched_by").get(pk=pk)
        return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)


class ReceivablesView(APIView):
    """Receivables per payer of the institutions whose books the user keeps (or one of them)."""

    permission_classes = [IsAuthenticated]
    content_negotiation_class = FileNegotiation

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=["json", "xlsx"]),
            OpenApiParameter("institution", str, description="Institution code, when you keep several books"),
        ],
        responses={
            200: inline_serializer(
                "Receivables",
                {
                    "institutions": serializers.ListField(child=serializers.CharField()),
                    "as_of": serializers.DateField(),
                    "payers": serializers.ListField(child=serializers.DictField()),
                    "total": serializers.DictField(),
                },
            )
        },
    )
    def get(self, request):
        fmt = request.query_params.get("format", "json").lower()
        if fmt not in ("json", "xlsx"):
            raise ValidationError({"format": _("Choose json or xlsx.")})
        ids = _books_or_403(request.user)
        code = request.query_params.get("institution")
        if code:
            inst = Institution.objects.filter(code__iexact=code).first()
            if inst is None or not (request.user.is_superuser or inst.pk in finance_institution_ids(request.user)):
                raise Http404(_("No such institution, or you do not keep its books."))
            ids = [inst.pk]
        rows, total = receivables_by_payer(institution_ids=ids)
        codes = list(Institution.objects.filter(pk__in=ids).order_by("code").values_list("code", flat=True))
        today = timezone.localdate(timezone.now(), local_tz())
        if fmt == "xlsx":
            handle = write_receivables(
                title="Receivables 应收账款",
                institutions=", ".join(codes),
                as_of=today.isoformat(),
                rows=rows,
                total=total,
            )
            return xlsx_response(f"receivables-{'-'.join(codes) or 'all'}-{today.isoformat()}.xlsx", handle)

        def as_dict(r):
            return {
                "payer": r.payer_code or None,
                "name": r.payer_name or None,
                "invoices": r.invoices,
                "open_invoices": r.open_invoices,
                "invoiced": money(r.invoiced),
                "credited": money(r.credited),
                "received": money(r.received),
                "outstanding": money(r.outstanding),
                "ageing": {b: money(r.buckets[b]) for b in BUCKETS},
            }

        return Response(
            {
                "institutions": codes,
                "as_of": today.isoformat(),
                "payers": [as_dict(r) for r in rows],
                "total": as_dict(total),
            }
        )
