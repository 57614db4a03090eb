"""Cross-cutting API plumbing: pagination and one place where service errors become HTTP answers."""

import logging

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from common.errors import Conflict

log = logging.getLogger(__name__)


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


def validation_error_body(exc: ValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
    messages = [str(m) for m in exc.messages]
    return {"detail": " ".join(messages)}


def exception_handler(exc, context):
    if isinstance(exc, Conflict):
        return Response(exc.as_dict(), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, ValidationError):
        body = validation_error_body(exc)
        if "__all__" in body:
            body["detail"] = " ".join(body.pop("__all__"))
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, drf_exceptions.ParseError):
        return Response({"detail": _("The request body is not valid JSON: %(why)s") % {"why": exc.detail}}, status=400)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, (Http404, drf_exceptions.NotFound)) and response.data.get("detail") in (
        None,
        "Not found.",
        str(drf_exceptions.NotFound.default_detail),  # DRF's own words, in the language of the request
    ):
        response.data = {"detail": _("No such object, or you may not see it.")}
    return response
