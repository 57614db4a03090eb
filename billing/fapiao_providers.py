"""Connecting a fapiao service provider (a 乐企 / 税控 intermediary) to the platform.

A deployment names its adapter class in the FAPIAO_PROVIDER setting. The platform hands the adapter
what the fapiao must say and records what comes back, exactly as if finance had typed it in; it never
needs to know which provider it talks to. An adapter must be idempotent by `request_id`: asked twice
for the same request, it returns the same fapiao."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class FapiaoRequest:
    request_id: str  # the invoice's payment reference: stable across retries
    kind: str  # "normal" | "special"
    seller_name: str
    buyer_name: str
    buyer_tax_id: str
    item_name: str
    item_tax_code: str
    amount_with_tax: Decimal  # negative for a red-letter fapiao
    tax_rate: Decimal
    red_letter_number: str = ""  # for a red-letter fapiao: the confirmation it reverses under
    original_fapiao_number: str = ""


@dataclass(frozen=True)
class IssuedFapiao:
    number: str
    issued_on: date
    tax_amount: Decimal
    file_type: str = ""  # "pdf" | "ofd" | "xml", with `content`
    content: bytes = b""


class FapiaoProviderError(Exception):
    """The provider refused or failed; the message says why in words."""


class FapiaoProvider(Protocol):
    name: str

    def issue(self, request: FapiaoRequest) -> IssuedFapiao: ...


def configured() -> bool:
    return bool(getattr(settings, "FAPIAO_PROVIDER", ""))


def get_provider() -> FapiaoProvider:
    path = getattr(settings, "FAPIAO_PROVIDER", "")
    if not path:
        raise ImproperlyConfigured("FAPIAO_PROVIDER names no adapter class.")
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"FAPIAO_PROVIDER={path!r} cannot be imported: {exc}") from exc
    return cls()
