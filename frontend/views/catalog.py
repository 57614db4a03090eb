"""The public catalog: search, filters, the region map and facility pages."""

from django import forms
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _

from facilities import selectors
from facilities.models import Facility, Institution
from facilities.models.catalog import FacilityCategory
from facilities.models.tenants import Province

from ..regionmap import region_map


class CatalogFilter(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    province = forms.ChoiceField(
        label=_("Province"), required=False, choices=[("", _("All provinces")), *Province.choices]
    )
    city = forms.CharField(label=_("City"), required=False, max_length=64)
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=[("", _("All categories")), *FacilityCategory.choices]
    )
    host = forms.CharField(label=_("Host institution"), required=False, max_length=32)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        hosts = (
            Institution.objects.filter(facilities__isnull=False).distinct().order_by("code").values_list("code", "name")
        )
        self.fields["host"] = forms.ChoiceField(
            label=_("Host institution"),
            required=False,
            choices=[("", _("All hosts")), *[(c, f"{c} — {n}") for c, n in hosts]],
        )
        cities = Facility.objects.order_by("city").values_list("city", flat=True).distinct()
        self.fields["city"] = forms.ChoiceField(
            label=_("City"), required=False, choices=[("", _("All cities")), *[(c, c) for c in cities]]
        )


def catalog(request):
    form = CatalogFilter(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    found = selectors.facility_list(
        province=filters.get("province", ""),
        city=filters.get("city", ""),
        category=filters.get("category", ""),
        q=filters.get("q", ""),
    )
    if filters.get("host"):
        found = found.filter(host__code=filters["host"])
    facilities = list(found)
    # The map always shows the whole region, so one can widen a narrow search from it.
    everything = list(Facility.objects.only("city")) if filters else facilities
    return render(
        request,
        "frontend/catalog/list.html",
        {
            "form": form,
            "facilities": facilities,
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
