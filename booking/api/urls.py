from django.urls import path

from . import availability, flags, views

urlpatterns = [
    path("bookings/", views.BookingList.as_view(), name="api-bookings"),
    path("bookings/<int:pk>/", views.BookingDetail.as_view(), name="api-booking"),
    path("bookings/<int:pk>/approve/", views.BookingApprove.as_view(), name="api-booking-approve"),
    path("bookings/<int:pk>/reject/", views.BookingReject.as_view(), name="api-booking-reject"),
    path("bookings/<int:pk>/cancel/", views.BookingCancel.as_view(), name="api-booking-cancel"),
    path("bookings/<int:pk>/complete/", views.BookingComplete.as_view(), name="api-booking-complete"),
    path("bookings/<int:pk>/no-show/", views.BookingNoShow.as_view(), name="api-booking-no-show"),
    # Bookings a calendar change put in closed time (booking/api/flags.py).
    path("calendar-flags/", flags.FlagList.as_view(), name="api-calendar-flags"),
    path("calendar-flags/<int:pk>/keep/", flags.FlagKeep.as_view(), name="api-calendar-flag-keep"),
    path("calendar-flags/<int:pk>/move/", flags.FlagMove.as_view(), name="api-calendar-flag-move"),
    path("calendar-flags/<int:pk>/cancel/", flags.FlagCancel.as_view(), name="api-calendar-flag-cancel"),
    path(
        "instruments/<int:pk>/availability/",
        availability.InstrumentAvailability.as_view(),
        name="api-instrument-availability",
    ),
    path("availability/", availability.JointAvailability.as_view(), name="api-joint-availability"),
]
