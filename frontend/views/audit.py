"""The audit trail page (institution administrators: their institution's entries; platform administrators:
all), its CSV export, and every person's own-data page (PIPL). Reads come from the audit app."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _l

from audit.privacy import personal_data, zip_response
from audit.selectors import CSV_HEADER, TrailFilter, csv_rows, entries_visible_to, entry_row, parse_filters
from billing.exports.csv_export import csv_response

from ..errors import messages_of
from .access import role_required

TRAIL_READERS = ("institution_admin", "platform_admin")
PAGE_SIZE = 50
FILTER_FIELDS = [
    ("model", _l("Model"), "facilities.closure"),
    ("object", _l("Object (id)"), ""),
    ("actor", _l("Actor (username or system)"), ""),
    ("since", _l("From (day)"), "YYYY-MM-DD"),
    ("until", _l("To (day, included)"), "YYYY-MM-DD"),
]


@role_required(*TRAIL_READERS)
def trail(request):
    query = {name: request.GET.get(name, "") for name, _label, _hint in FILTER_FIELDS}
    status, errors = 200, []
    try:
        filters = parse_filters(request.GET)
    except ValidationError as exc:
        filters, status, errors = TrailFilter(), 400, [msg for _field, msg in messages_of(exc)]
    page = Paginator(entries_visible_to(request.user, filters), PAGE_SIZE).get_page(request.GET.get("page"))
    kept = urlencode({k: v for k, v in query.items() if v})
    ctx = {
        "nav": "audit",
        "fields": [(name, label, hint, query[name]) for name, label, hint in FILTER_FIELDS],
        "rows": [entry_row(e) for e in page.object_list],
        "page": page,
        "query": kept,
        "errors": errors,
    }
    return render(request, "frontend/audit/trail.html", ctx, status=status)


@role_required(*TRAIL_READERS)
def trail_export(request):
    try:
        filters = parse_filters(request.GET)
    except ValidationError as exc:
        return HttpResponseBadRequest(" ".join(msg for _field, msg in messages_of(exc)), content_type="text/plain")
    rows = csv_rows(entries_visible_to(request.user, filters).iterator(chunk_size=500))
    next(rows)
    return csv_response("audit-trail.csv", CSV_HEADER, rows)


@login_required
def my_data(request):
    return render(request, "frontend/audit/my_data.html", {"nav": "my_data"})


@login_required
def my_data_json(request):
    response = JsonResponse(personal_data(request.user), json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = 'attachment; filename="sanjiao-personal-data.json"'
    return response


@login_required
def my_data_zip(request):
    return zip_response(request.user)
