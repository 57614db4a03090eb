"""A person's API tokens: list, make, rotate, revoke (the same services as /api/v1/auth/tokens/). A new
key is shown on the answer to the POST that made it, once, and is never stored."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from common.errors import Conflict
from facilities.credentials import create_token, revoke_token, rotate_token
from facilities.selectors import tokens_of

from ..errors import messages_of

PAGE = 100


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_l("Name"), max_length=100, help_text=_l("What will use it, e.g. “beamtime export script”.")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read when the form is made, so the limits follow the settings.
        self.fields["days"] = forms.IntegerField(
            label=_l("Valid for (days)"),
            min_value=1,
            max_value=settings.API_TOKEN_MAX_DAYS,
            initial=settings.API_TOKEN_DAYS,
        )


def _page(request, *, form=None, new=None, status=200):
    now = timezone.now()
    rows = [{"token": token, "active": token.is_active(now)} for token in tokens_of(request.user)[:PAGE]]
    context = {"rows": rows, "form": form or TokenForm(), "new": new, "nav": "tokens"}
    # never_cache on the views: a page with a key on it is kept by no cache.
    return render(request, "frontend/account/tokens.html", context, status=status)


@never_cache
@login_required
def tokens(request):
    if request.method != "POST":
        return _page(request)
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    try:
        token, key = create_token(user=request.user, name=form.cleaned_data["name"], days=form.cleaned_data["days"])
    except (ValidationError, Conflict) as exc:
        for field, text in messages_of(exc):
            form.add_error(field if field in form.fields else None, text)
        return _page(request, form=form, status=400)
    return _page(request, new={"token": token, "key": key})


@never_cache
@require_POST
@login_required
def token_action(request, pk: int, action: str):
    try:
        if action == "rotate":
            token, key = rotate_token(by=request.user, token_id=pk)
            return _page(request, new={"token": token, "key": key})
        if action != "revoke" or not tokens_of(request.user).filter(pk=pk).exists():
            raise Http404
        token = revoke_token(by=request.user, token_id=pk)
        messages.success(request, _("Token “%(name)s” is revoked; it no longer works.") % {"name": token.name})
    except Conflict as exc:
        messages.error(request, exc.detail)
    return redirect("frontend:tokens")
