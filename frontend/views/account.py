"""Password reset by mail and password change: Django's views, with the mail in the person's language and
links that start at SITE_URL (never at the Host header a stranger sent)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils import translation


class PasswordResetForm(auth_forms.PasswordResetForm):
    def save(self, *args, **kwargs):
        site = urlsplit(settings.SITE_URL)
        kwargs["domain_override"] = site.netloc
        kwargs["use_https"] = site.scheme == "https"
        kwargs["extra_email_context"] = {"site_name": "Sanjiao"}
        return super().save(*args, **kwargs)

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        # The mail speaks the language the person chose, not that of whoever asked for it.
        with translation.override(getattr(context["user"], "language", None) or settings.LANGUAGE_CODE):
            super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm
    template_name = "frontend/account/password_reset_form.html"
    email_template_name = "frontend/account/password_reset_email.txt"
    subject_template_name = "frontend/account/password_reset_subject.txt"
    success_url = reverse_lazy("frontend:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "frontend/account/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "frontend/account/password_reset_confirm.html"
    success_url = reverse_lazy("frontend:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "frontend/account/password_reset_complete.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "frontend/account/password_change_form.html"
    success_url = reverse_lazy("frontend:password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "frontend/account/password_change_done.html"


@login_required
def welcome(request):
    """Where someone who may not book yet stands: their company awaiting approval, their requests to join
    institutions, and what they may do meanwhile."""
    from facilities.models import CompanyRegistration
    from facilities.selectors import join_requests_of, roles_of

    registration = CompanyRegistration.objects.filter(user=request.user).select_related("institution").first()
    return render(
        request,
        "frontend/account/welcome.html",
        {
            "registration": registration,
            "join_requests": list(join_requests_of(request.user)),
            "is_researcher": "researcher" in roles_of(request.user),
            "nav": "welcome",
        },
    )
