from django.urls import path

from . import extras_views as views
from . import groups

urlpatterns = [
    path("bookings/series/", views.SeriesCreate.as_view(), name="api-booking-series"),
    path("bookings/bundles/", views.BundleCreate.as_view(), name="api-booking-bundles"),
    path("bookings/<int:pk>/move/", views.BookingMove.as_view(), name="api-booking-move"),
    path("bookings/<int:pk>/payers/", views.BookingPayers.as_view(), name="api-booking-payers"),
    path("waitlist/", views.WaitlistList.as_view(), name="api-waitlist"),
    path("waitlist/<int:pk>/accept/", views.WaitlistAccept.as_view(), name="api-waitlist-accept"),
    path("waitlist/<int:pk>/withdraw/", views.WaitlistWithdraw.as_view(), name="api-waitlist-withdraw"),
]

# Research groups (booking/api/groups.py).
urlpatterns += [
    path("groups/", groups.GroupList.as_view(), name="api-groups"),
    path("groups/<int:pk>/", groups.GroupDetail.as_view(), name="api-group"),
    path("groups/<int:pk>/members/", groups.GroupMembers.as_view(), name="api-group-members"),
    path("groups/<int:pk>/limits/", groups.GroupLimits.as_view(), name="api-group-limits"),
    path("groups/<int:pk>/spending-limits/", groups.GroupSpendingLimits.as_view(), name="api-group-spending-limits"),
    path("institutions/<str:code>/groups/", groups.InstitutionGroups.as_view(), name="api-institution-groups"),
]
