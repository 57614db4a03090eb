"""Report figures as plain rows of display values (decimal strings for hours, rates and money), shared by
the JSON API and the file exports so every format shows the same numbers."""

from decimal import Decimal

from common.time import iso_local
from facilities.models.catalog import UserClass

from .periods import Period
from .selectors import FacilityReport, FairnessReport, Figures, InstrumentReport, PartnerShare, RollUp, Waiting, hours

USER_CLASSES = [value for value, _ in UserClass.choices]


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def figures_row(f: Figures) -> dict:
    return {
        "available_hours": str(hours(f.available_minutes)),
        "booked_hours": str(hours(f.booked_minutes)),
        "used_hours": str(hours(f.used_minutes)),
        "utilisation": _str(f.utilisation),
        "host_hours": str(hours(f.host_minutes)),
        "shared_hours": str(hours(f.shared_minutes)),
        "company_hours": str(hours(f.company_minutes)),
        "outside_institutions": len(f.outside_institution_ids),
        "outside_users": len(f.outside_user_ids),
        "no_show_hours": str(hours(f.no_show_minutes)),
        "late_cancellation_hours": str(hours(f.late_cancel_minutes)),
        "idle_hours": str(hours(f.idle_minutes)),
        "revenue": {c: str(f.revenue.get(c, Decimal("0.00"))) for c in USER_CLASSES},
        "revenue_total": str(f.revenue_total),
    }


def share_row(p: PartnerShare) -> dict:
    return {
        "institution": p.institution.code,
        "percent": str(p.percent),
        "reserved_hours": str(hours(p.reserved_minutes)),
        "booked_hours": str(hours(p.booked_minutes)),
        "used_hours": str(hours(p.used_minutes)),
        "used_of_reserved": _str(p.used_of_reserved),
    }


def instrument_row(r: InstrumentReport) -> dict:
    i = r.instrument
    return {
        "id": i.pk,
        "code": i.code,
        "name": i.name,
        "name_zh": i.name_zh,
        "active": i.active,
        **figures_row(r.figures),
        "time_shares": [share_row(p) for p in r.time_shares],
    }


def period_row(p: Period) -> dict:
    return {"label": p.label, "kind": p.kind, "start": iso_local(p.start), "end": iso_local(p.end)}


def facility_head(report: FacilityReport) -> dict:
    f = report.facility
    return {
        "code": f.code,
        "name": f.name,
        "name_zh": f.name_zh,
        "host": f.host.code,
        "province": f.province,
        "city": f.city,
    }


def facility_document(report: FacilityReport) -> dict:
    return {
        "facility": facility_head(report),
        "period": period_row(report.period),
        "instruments": [instrument_row(r) for r in report.instruments],
        "totals": figures_row(report.totals),
    }


def roll_up_document(roll_up: RollUp, **scope) -> dict:
    return {
        **scope,
        "period": period_row(roll_up.period),
        "facilities": [{**facility_head(r), **figures_row(r.totals)} for r in roll_up.facilities],
        "totals": figures_row(roll_up.totals),
    }


def waiting_row(w: Waiting) -> dict:
    return {
        "decided": w.decided,
        "approved": w.approved,
        "rejected": w.rejected,
        "median_hours": _str(w.median_hours),
        "mean_hours": _str(w.mean_hours),
    }


def fairness_document(report: FairnessReport) -> dict:
    return {
        "facility": {"code": report.facility.code, "name": report.facility.name, "host": report.facility.host.code},
        "period": period_row(report.period),
        "instruments": [
            {
                "id": inst.pk,
                "code": inst.code,
                "booked_hours": str(hours(total)),
                "institutions": [
                    {
                        "institution": e.institution.code,
                        "kind": e.institution.kind,
                        "internal": e.internal,
                        "bookings": e.bookings,
                        "booked_hours": str(hours(e.booked_minutes)),
                        "used_hours": str(hours(e.used_minutes)),
                        "share": _str(e.share),
                    }
                    for e in entries
                ],
            }
            for inst, total, entries in report.instruments
        ],
        "waiting": {
            "internal": waiting_row(report.waiting_internal),
            "outside": waiting_row(report.waiting_outside),
            "pending": report.pending,
            "by_institution": [
                {"institution": w.institution.code, "internal": w.internal, **waiting_row(w.waiting)}
                for w in report.waiting_by_institution
            ],
        },
    }
