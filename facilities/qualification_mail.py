"""Mail about qualifications, in each recipient's language: a request to the facility's managers, the
decision to the person who asked, and the reminder before a qualification lapses. Called after commit
(facilities.services) with ids; the rows are read again, so a mail says what is true when it is sent."""

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .models import Qualification, QualificationRequest, User
from .selectors import facility_managers

log = logging.getLogger(__name__)


def _site(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _send(user: User, subject: str, body: str) -> None:
    if not user.email:
        return
    try:
        send_mail(subject, body, None, [user.email])
    except Exception:  # a mail problem never turns the decision into an error
        log.exception("qualification mail to user %s failed", user.pk)


def _day(moment) -> str:
    # The last day it holds: the qualification lapses at the midnight after it.
    return (timezone.localtime(moment) - dt.timedelta(seconds=1)).date().isoformat()


def request_received(request_id: int) -> None:
    request = QualificationRequest.objects.select_related("user", "instrument__facility").filter(pk=request_id).first()
    if request is None or not request.is_pending:
        return
    instrument = request.instrument
    for manager in facility_managers(instrument.facility_id):
        with translation.override(manager.language or "en"):
            subject = _("%(user)s asks to be qualified on %(code)s") % {
                "user": request.user.username,
                "code": instrument.code,
            }
            body = _(
                "%(user)s asks to be qualified on %(code)s (%(facility)s).\n\n%(note)s\n\n"
                "Grant or decline it on the console: %(link)s\n"
            ) % {
                "user": request.user.get_full_name() or request.user.username,
                "code": instrument.code,
                "facility": instrument.facility.code,
                "note": request.note or _("(no note)"),
                "link": _site(f"/console/facilities/{instrument.facility.code}/#qualification-requests"),
            }
        _send(manager, subject, body)


def request_decided(request_id: int) -> None:
    request = (
        QualificationRequest.objects.select_related("user", "instrument__facility", "qualification")
        .filter(pk=request_id)
        .first()
    )
    if request is None or request.is_pending:
        return
    instrument = request.instrument
    with translation.override(request.user.language or "en"):
        link = _site(f"/instruments/{instrument.pk}/")
        if request.status == QualificationRequest.Status.GRANTED:
            subject = _("You are qualified on %(code)s") % {"code": instrument.code}
            expires = request.qualification.expires_at if request.qualification else None
            until = _("until %(day)s") % {"day": _day(expires)} if expires else _("until a manager revokes it")
            body = _("You may now book %(code)s (%(facility)s), %(until)s.\n\nBook it: %(link)s\n") % {
                "code": instrument.code,
                "facility": instrument.facility.code,
                "until": until,
                "link": link,
            }
        else:
            subject = _("Your qualification request for %(code)s was declined") % {"code": instrument.code}
            body = _("A manager of %(facility)s declined your request to use %(code)s:\n\n%(reason)s\n\n%(link)s\n") % {
                "code": instrument.code,
                "facility": instrument.facility.code,
                "reason": request.reason,
                "link": link,
            }
    _send(request.user, subject, body)


def lapsing(qualification_id: int) -> None:
    q = Qualification.objects.select_related("user", "instrument__facility").filter(pk=qualification_id).first()
    if q is None or q.expires_at is None or not q.is_current(timezone.now()):
        return
    with translation.override(q.user.language or "en"):
        subject = _("Your qualification on %(code)s lapses on %(day)s") % {
            "code": q.instrument.code,
            "day": _day(q.expires_at),
        }
        body = _(
            "Your qualification on %(code)s (%(facility)s) holds until %(day)s. After that you can no longer "
            "book it; ask the facility to renew it on the instrument's page: %(link)s\n"
        ) % {
            "code": q.instrument.code,
            "facility": q.instrument.facility.code,
            "day": _day(q.expires_at),
            "link": _site(f"/instruments/{q.instrument_id}/"),
        }
    _send(q.user, subject, body)
