"""The public catalog: instruments and facilities searched together, filters, the region map, facility pages."""

from django import forms
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from booking.rules import bookable_by
from booking.search import NEXT_FREE_DAYS, next_free_starts
from facilities import selectors
from facilities.models import Facility, Institution, Instrument
from facilities.models.catalog import FacilityCategory
from facilities.models.tenants import Province

from ..regionmap import region_map

# Rows of instruments drawn at most; the count says how many were found, and the filters narrow them.
MAX_INSTRUMENTS_SHOWN = 50


def _in_language(en: str, zh: str) -> str:
    return zh if zh and get_language() == "zh-hans" else en


class CatalogFilter(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("e.g. SEM, 电镜, cryo-EM, PPMS")}),
    )
    technique = forms.ChoiceField(
        label=_("Technique"),
        required=False,
        choices=[("", _("All techniques")), *Instrument.Category.choices],
    )
    province = forms.ChoiceField(
        label=_("Province"), required=False, choices=[("", _("All provinces")), *Province.choices]
    )
    city = forms.CharField(label=_("City"), required=False, max_length=64)
    category = forms.ChoiceField(
        label=_("Facility category"),
        required=False,
        choices=[("", _("All categories")), *FacilityCategory.choices],
    )
    host = forms.CharField(label=_("Host institution"), required=False, max_length=32)
    bookable = forms.BooleanField(label=_("Only instruments I may book"), required=False)

    def __init__(self, *args, may_book: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        hosts = (
            Institution.objects.filter(facilities__isnull=False)
            .distinct()
            .order_by("code")
            .values_list("code", "name", "name_zh")
        )
        self.fields["host"] = forms.ChoiceField(
            label=_("Host institution"),
            required=False,
            choices=[("", _("All hosts")), *[(c, f"{c} — {_in_language(n, zh)}") for c, n, zh in hosts]],
        )
        cities = Facility.objects.order_by("city").values_list("city", "city_zh").distinct()
        self.fields["city"] = forms.ChoiceField(
            label=_("City"),
            required=False,
            choices=[("", _("All cities")), *[(c, _in_language(c, zh)) for c, zh in cities]],
        )
        if not may_book:
            # Only a signed-in person may book anything; the others are not offered the filter.
            del self.fields["bookable"]


def _instrument_results(request, filters: dict) -> dict:
    """Instruments matching the search, each with its next free slot and whether the reader may book it."""
    found = list(
        selectors.instrument_list(
            q=filters.get("q", ""),
            category=filters.get("technique", ""),
            province=filters.get("province", ""),
            city=filters.get("city", ""),
            host=filters.get("host", ""),
            facility_category=filters.get("category", ""),
        )
    )
    mine = bookable_by(requester=request.user, instruments=found) if request.user.is_authenticated else set()
    if filters.get("bookable"):
        found = [i for i in found if i.pk in mine]
    shown = found[:MAX_INSTRUMENTS_SHOWN]
    free = next_free_starts(shown, now=timezone.now())
    return {
        "found": found,
        "instruments": [{"instrument": i, "next_free": free[i.pk], "bookable": i.pk in mine} for i in shown],
        "more": max(0, len(found) - len(shown)),
    }


def catalog(request):
    form = CatalogFilter(request.GET or None, may_book=request.user.is_authenticated)
    filters = form.cleaned_data if form.is_valid() else {}
    facilities = list(
        selectors.facility_list(
            province=filters.get("province", ""),
            city=filters.get("city", ""),
            category=filters.get("category", ""),
            q=filters.get("q", ""),
            host=filters.get("host", ""),
        )
    )
    # Instruments are listed once there is something to find them by: words, a technique, "I may book".
    instruments: dict = {}
    if filters.get("q") or filters.get("technique") or filters.get("bookable"):
        instruments = _instrument_results(request, filters)
        if filters.get("technique") or filters.get("bookable"):
            # Those filters are about instruments: the facilities are the ones that have them.
            hosting = {i.facility_id for i in instruments["found"]}
            facilities = [f for f in facilities if f.pk in hosting]
    # The map always shows the whole region, so one can widen a narrow search from it.
    everything = list(Facility.objects.only("city")) if filters else facilities
    return render(
        request,
        "frontend/catalog/list.html",
        {
            "form": form,
            "facilities": facilities,
            "results": instruments,
            "next_free_days": NEXT_FREE_DAYS,
            "map": region_map(everything),
            "nav": "catalog",
            "filtered": any(filters.values()) if filters else False,
        },
    )


def facility_detail(request, code: str):
    facility = get_object_or_404(selectors.facility_detail_queryset(), code=code)
    return render(
        request,
        "frontend/catalog/facility.html",
        {
            "facility": facility,
            "instruments": list(facility.instruments.all()),
            "nav": "catalog",
            "manages": request.user.is_authenticated
            and (request.user.is_superuser or selectors.is_manager_of(request.user, facility.pk)),
        },
    )
