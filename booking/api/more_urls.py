from django.urls import path

from . import extras_views as views

urlpatterns = [
    path("bookings/series/", views.SeriesCreate.as_view(), name="api-booking-series"),
    path("bookings/bundles/", views.BundleCreate.as_view(), name="api-booking-bundles"),
    path("bookings/<int:pk>/move/", views.BookingMove.as_view(), name="api-booking-move"),
    path("waitlist/", views.WaitlistList.as_view(), name="api-waitlist"),
    path("waitlist/<int:pk>/accept/", views.WaitlistAccept.as_view(), name="api-waitlist-accept"),
    path("waitlist/<int:pk>/withdraw/", views.WaitlistWithdraw.as_view(), name="api-waitlist-withdraw"),
]
