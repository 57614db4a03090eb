"""A fapiao service provider without a network: numbers fapiao from a counter, remembers each request
id (so asking twice returns the same fapiao, as a real provider must), and can be told to refuse."""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from billing.fapiao_providers import FapiaoProviderError, FapiaoRequest, IssuedFapiao


class FakeFapiaoProvider:
    name = "fake"
    issued: dict[str, IssuedFapiao] = {}
    requests: list[FapiaoRequest] = []
    refuse: str = ""

    @classmethod
    def reset(cls) -> None:
        cls.issued, cls.requests, cls.refuse = {}, [], ""

    def issue(self, request: FapiaoRequest) -> IssuedFapiao:
        type(self).requests.append(request)
        if self.refuse:
            raise FapiaoProviderError(self.refuse)
        if request.request_id not in self.issued:
            tax = (request.amount_with_tax * request.tax_rate / (1 + request.tax_rate)).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP
            )
            number = f"26310000000{len(self.issued) + 1:09d}"
            self.issued[request.request_id] = IssuedFapiao(
                number=number,
                issued_on=dt.date(2026, 11, 20),
                tax_amount=tax,
                file_type="pdf",
                content=b"%PDF-1.7 fake fapiao " + number.encode(),
            )
        return self.issued[request.request_id]
