from django.urls import path

from . import availability, views

urlpatterns = [
    path("bookings/", views.BookingList.as_view(), name="api-bookings"),
    path("bookings/<int:pk>/", views.BookingDetail.as_view(), name="api-booking"),
    path("bookings/<int:pk>/approve/", views.BookingApprove.as_view(), name="api-booking-approve"),
    path("bookings/<int:pk>/reject/", views.BookingReject.as_view(), name="api-booking-reject"),
    path("bookings/<int:pk>/cancel/", views.BookingCancel.as_view(), name="api-booking-cancel"),
    path("bookings/<int:pk>/complete/", views.BookingComplete.as_view(), name="api-booking-complete"),
    path("bookings/<int:pk>/no-show/", views.BookingNoShow.as_view(), name="api-booking-no-show"),
    path(
        "instruments/<int:pk>/availability/",
        availability.InstrumentAvailability.as_view(),
        name="api-instrument-availability",
    ),
    path("availability/", availability.JointAvailability.as_view(), name="api-joint-availability"),
]
