"""PIPL: everything Sanjiao holds about a person, for them to download (docs/audit.md#your-own-data).

Secrets are left out: the password hash, API token keys, the calendar feed's token."""

import csv
import io
import json
import zipfile

from django.http import HttpResponse
from django.utils import timezone

from booking.models import Booking, NotificationLog
from common.time import local_tz
from facilities.models import ApiToken, Membership, Qualification, QualificationRequest, User
from federation.selectors import identity_records

from .selectors import entries_by, entry_row, spreadsheet_safe


def _when(value) -> str | None:
    return value.astimezone(local_tz()).isoformat() if value else None


def personal_data(user: User) -> dict:
    return {
        "profile": {
            "username": user.username,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "language": user.language,
            "date_joined": _when(user.date_joined),
            "last_login": _when(user.last_login),
            "is_active": user.is_active,
            "default_account": user.default_account.code if user.default_account else None,
        },
        "memberships": [
            {
                "institution": m.institution.code,
                "institution_name": m.institution.name,
                "role": m.role,
                "facilities": sorted(f.code for f in m.facilities.all()),
            }
            for m in Membership.objects.filter(user=user).select_related("institution").prefetch_related("facilities")
        ],
        "funding_accounts": [
            {"code": a.code, "title": a.title, "institution": a.institution.code, "as": role}
            for role, qs in (("principal_investigator", user.accounts_led), ("member", user.accounts_named_on))
            for a in qs.select_related("institution").order_by("code")
        ],
        "bookings": [
            {
                "id": b.pk,
                "instrument": f"{b.instrument.facility.code}/{b.instrument.code}",
                "start": _when(b.start),
                "end": _when(b.end),
                "status": b.status,
                "purpose": b.purpose,
                "created_at": _when(b.created_at),
                "actual_start": _when(b.actual_start),
                "actual_end": _when(b.actual_end),
                "splits": [{"account": s.account.code, "percent": str(s.percent)} for s in b.splits.all()],
            }
            for b in Booking.objects.filter(requester=user)
            .select_related("instrument__facility")
            .prefetch_related("splits__account")
            .order_by("start", "pk")
        ],
        "qualifications": [
            {
                "instrument": f"{q.instrument.facility.code}/{q.instrument.code}",
                "granted_at": _when(q.granted_at),
                "granted_by": q.granted_by.username if q.granted_by else None,
                "revoked_at": _when(q.revoked_at),
                "expires_at": _when(q.expires_at),
            }
            for q in Qualification.objects.filter(user=user)
            .select_related("instrument__facility", "granted_by")
            .order_by("granted_at", "pk")
        ],
        "qualification_requests": [
            {
                "instrument": f"{r.instrument.facility.code}/{r.instrument.code}",
                "asked_at": _when(r.created_at),
                "note": r.note,
                "status": r.status,
                "decided_at": _when(r.decided_at),
                "reason": r.reason,
            }
            for r in QualificationRequest.objects.filter(user=user)
            .select_related("instrument__facility")
            .order_by("created_at", "pk")
        ],
        "notifications": [
            {
                "kind": n.kind,
                "booking": n.booking_id,
                "status": n.status,
                "sent_at": _when(n.sent_at),
                "digest": n.via_digest,
            }
            for n in NotificationLog.objects.filter(recipient=user).order_by("claimed_at", "pk")
        ],
        "api_tokens": [
            {
                "name": t.name,
                "created": _when(t.created_at),
                "expires": _when(t.expires_at),
                "revoked": _when(t.revoked_at),
            }
            for t in ApiToken.objects.filter(user=user).order_by("created_at", "pk")
        ],
        # Federated sign-ins linked to the account, with what each identity provider released.
        "linked_identities": identity_records(user),
        "audit_entries": [entry_row(e) for e in entries_by(user)],
    }


# The sections that are lists become CSV files in the ZIP, beside the whole as JSON.
_CSV_SECTIONS = [
    "memberships",
    "funding_accounts",
    "bookings",
    "qualifications",
    "qualification_requests",
    "notifications",
    "api_tokens",
]


def _csv(rows: list[dict]) -> str:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _flat(v) for k, v in row.items()})
    return out.getvalue()


def _flat(value) -> str:
    if isinstance(value, list):
        return "; ".join(
            f"{v['account']}:{v['percent']}" if isinstance(v, dict) and "account" in v else str(v) for v in value
        )
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return spreadsheet_safe(value)


def personal_data_zip(user: User) -> bytes:
    data = personal_data(user)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("personal-data.json", json.dumps(data, ensure_ascii=False, indent=2))
        for section in _CSV_SECTIONS:
            archive.writestr(f"{section}.csv", _csv(data[section]))
        archive.writestr("audit_entries.csv", _csv(data["audit_entries"]))
    return buffer.getvalue()


def zip_response(user: User) -> HttpResponse:
    stamp = timezone.now().astimezone(local_tz()).strftime("%Y%m%d")
    response = HttpResponse(personal_data_zip(user), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="sanjiao-personal-data-{stamp}.zip"'
    return response
