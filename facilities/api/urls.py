from django.urls import path

from . import joining, manage, people, qualifications, tokens, views

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("auth/tokens/", tokens.TokenList.as_view(), name="api-tokens"),
    path("auth/tokens/<int:pk>/", tokens.TokenDetail.as_view(), name="api-token-detail"),
    path("auth/tokens/<int:pk>/rotate/", tokens.TokenRotate.as_view(), name="api-token-rotate"),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("facilities/", views.FacilityList.as_view(), name="api-facilities"),
    path("facilities/<str:code>/", views.FacilityDetail.as_view(), name="api-facility"),
    path("instruments/", views.InstrumentList.as_view(), name="api-instruments"),
    path("instruments/<int:pk>/", views.InstrumentDetail.as_view(), name="api-instrument"),
    path("holidays/<int:year>/", views.HolidayYear.as_view(), name="api-holidays"),
    path("accounts/", views.AccountList.as_view(), name="api-accounts"),
    # Managers' controls (facilities/api/manage.py).
    path("facilities/<str:code>/closures/", manage.FacilityClosures.as_view(), name="api-facility-closures"),
    path("closures/<int:pk>/", manage.ClosureDetail.as_view(), name="api-closure"),
    path("facilities/<str:code>/hours/", manage.FacilityHours.as_view(), name="api-facility-hours"),
    path("hours/<int:pk>/", manage.HoursDetail.as_view(), name="api-hours"),
    path("instruments/<int:pk>/rates/", manage.InstrumentRates.as_view(), name="api-instrument-rates"),
    path("instruments/<int:pk>/time-shares/", manage.InstrumentTimeShares.as_view(), name="api-instrument-time-shares"),
    path("instruments/<int:pk>/rules/", manage.InstrumentRules.as_view(), name="api-instrument-rules"),
    path(
        "instruments/<int:pk>/qualifications/",
        manage.InstrumentQualifications.as_view(),
        name="api-instrument-qualifications",
    ),
    # Asking for a qualification, and deciding it (facilities/api/qualifications.py).
    path("qualification-requests/", qualifications.RequestList.as_view(), name="api-qualification-requests"),
    path(
        "qualification-requests/<int:pk>/grant/",
        qualifications.RequestGrant.as_view(),
        name="api-qualification-request-grant",
    ),
    path(
        "qualification-requests/<int:pk>/decline/",
        qualifications.RequestDecline.as_view(),
        name="api-qualification-request-decline",
    ),
    path(
        "instruments/<int:pk>/qualification/",
        qualifications.MyQualification.as_view(),
        name="api-instrument-my-qualification",
    ),
    # Institution administrators (facilities/api/people.py).
    path("institutions/<str:code>/members/", people.InstitutionMembers.as_view(), name="api-institution-members"),
    path(
        "institutions/<str:code>/members/deactivate/",
        people.MemberDeactivate.as_view(),
        name="api-institution-deactivate",
    ),
    path(
        "institutions/<str:code>/invitations/",
        people.InstitutionInvitations.as_view(),
        name="api-institution-invitations",
    ),
    path("institutions/<str:code>/accounts/", people.InstitutionAccounts.as_view(), name="api-institution-accounts"),
    path("memberships/<int:pk>/", people.MembershipDetail.as_view(), name="api-membership"),
    path("accounts/<int:pk>/", people.AccountAdmin.as_view(), name="api-account"),
    path("accounts/<int:pk>/members/", people.AccountMembers.as_view(), name="api-account-members"),
    path("invitations/accept/", people.InvitationAccept.as_view(), name="api-invitation-accept"),
    # Requests to join an institution (facilities/api/joining.py).
    path(
        "institutions/<str:code>/join-requests/",
        joining.InstitutionJoinRequests.as_view(),
        name="api-institution-join-requests",
    ),
    path("join-requests/<int:pk>/approve/", joining.JoinRequestApprove.as_view(), name="api-join-request-approve"),
    path("join-requests/<int:pk>/decline/", joining.JoinRequestDecline.as_view(), name="api-join-request-decline"),
]
