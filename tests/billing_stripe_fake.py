"""A Stripe-compatible HTTP server for offline tests: the endpoints billing uses, objects in Stripe's
JSON shapes, and Idempotency-Key honoured (a repeated key answers the first response again, as
Stripe does, and creates nothing). Binds 127.0.0.1 on a free port; stops with the fixture."""

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


def _unflatten(pairs) -> dict:
    """metadata[key]=v → {"metadata": {"key": v}} (one level is all billing sends)."""
    out: dict = {}
    for key, value in pairs:
        if "[" in key and key.endswith("]"):
            outer, inner = key[:-1].split("[", 1)
            out.setdefault(outer, {})[inner] = value
        else:
            out[key] = value
    return out


class FakeStripe:
    def __init__(self):
        self.customers: dict[str, dict] = {}
        self.invoices: dict[str, dict] = {}
        self.items: dict[str, dict] = {}
        self.idempotent: dict[str, tuple[int, dict]] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self.fail_paths: dict[str, int] = {}  # path suffix → how many more times to fail with 500
        self.lock = threading.Lock()
        self._ids = itertools.count(1)
        server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        server.daemon_threads = True
        self.server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        self.thread = threading.Thread(target=server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):06d}"

    # --- Stripe objects --------------------------------------------------------------------------
    def _invoice_view(self, inv: dict) -> dict:
        lines = [i for i in self.items.values() if i["invoice"] == inv["id"]]
        total = sum(i["amount"] for i in lines)
        return {
            **inv,
            "amount_due": total,
            "subtotal": total,
            "total": total,
            "amount_remaining": 0 if inv["status"] == "paid" else total,
            "lines": {
                "object": "list",
                "data": [
                    {
                        "id": f"il_{i['id']}",
                        "object": "line_item",
                        "amount": i["amount"],
                        "currency": i["currency"],
                        "description": i["description"],
                    }
                    for i in lines
                ],
                "has_more": False,
                "total_count": len(lines),
                "url": f"/v1/invoices/{inv['id']}/lines",
            },
        }

    def handle(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        now = int(time.time())
        if method == "POST" and path == "/v1/customers":
            obj = {
                "id": self._id("cus"),
                "object": "customer",
                "created": now,
                "livemode": False,
                "name": params.get("name"),
                "email": params.get("email"),
                "metadata": params.get("metadata", {}),
            }
            self.customers[obj["id"]] = obj
            return 200, obj
        if method == "POST" and path == "/v1/invoices":
            if params.get("customer") not in self.customers:
                return 400, {
                    "error": {"type": "invalid_request_error", "message": "No such customer", "param": "customer"}
                }
            obj = {
                "id": self._id("in"),
                "object": "invoice",
                "created": now,
                "livemode": False,
                "status": "draft",
                "customer": params["customer"],
                "collection_method": params.get("collection_method", "charge_automatically"),
                "currency": params.get("currency", "cny"),
                "description": params.get("description"),
                "days_until_due": int(params["days_until_due"]) if params.get("days_until_due") else None,
                "auto_advance": params.get("auto_advance") == "true",
                "metadata": params.get("metadata", {}),
                "number": None,
                "hosted_invoice_url": None,
            }
            self.invoices[obj["id"]] = obj
            return 200, self._invoice_view(obj)
        if method == "POST" and path == "/v1/invoiceitems":
            invoice = self.invoices.get(params.get("invoice", ""))
            if invoice is None or invoice["status"] != "draft":
                return 400, {
                    "error": {"type": "invalid_request_error", "message": "Invoice is not a draft", "param": "invoice"}
                }
            obj = {
                "id": self._id("ii"),
                "object": "invoiceitem",
                "date": now,
                "livemode": False,
                "amount": int(params["amount"]),
                "currency": params.get("currency", "cny"),
                "customer": params.get("customer"),
                "invoice": invoice["id"],
                "description": params.get("description"),
                "metadata": params.get("metadata", {}),
            }
            self.items[obj["id"]] = obj
            return 200, obj
        parts = path.strip("/").split("/")
        if method == "POST" and len(parts) == 4 and parts[:2] == ["v1", "invoices"] and parts[3] == "void":
            inv = self.invoices.get(parts[2])
            if inv is None or inv["status"] != "open":
                return 400, {"error": {"type": "invalid_request_error", "message": "Only open invoices can be voided"}}
            inv["status"] = "void"
            return 200, self._invoice_view(inv)
        if (
            method == "POST"
            and len(parts) == 4
            and parts[:2] == ["v1", "invoices"]
            and parts[3] in ("finalize", "send")
        ):
            inv = self.invoices.get(parts[2])
            if inv is None:
                return 404, {"error": {"type": "invalid_request_error", "message": "No such invoice"}}
            if parts[3] == "finalize":
                if inv["status"] != "draft":
                    return 400, {"error": {"type": "invalid_request_error", "message": "Invoice is already finalized"}}
                inv["status"] = "open"
                inv["number"] = f"FAKE-{len([i for i in self.invoices.values() if i['number']]) + 1:04d}"
            elif inv["status"] != "open":
                return 400, {"error": {"type": "invalid_request_error", "message": "Only open invoices can be sent"}}
            return 200, self._invoice_view(inv)
        if method == "GET" and len(parts) == 3 and parts[:2] == ["v1", "invoices"] and parts[2] in self.invoices:
            return 200, self._invoice_view(self.invoices[parts[2]])
        return 404, {
            "error": {"type": "invalid_request_error", "message": f"Unrecognized request URL ({method}: {path})"}
        }

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, body: dict, replayed: bool = False):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_{next(fake._ids)}")
                if replayed:
                    self.send_header("Idempotent-Replayed", "true")
                self.end_headers()
                self.wfile.write(data)

            def _serve(self, method: str):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                path = self.path.split("?", 1)[0]
                key = self.headers.get("Idempotency-Key")
                with fake.lock:
                    fake.requests.append((method, path, key))
                    for suffix, left in list(fake.fail_paths.items()):
                        if path.endswith(suffix) and left > 0:
                            fake.fail_paths[suffix] = left - 1
                            return self._answer(500, {"error": {"type": "api_error", "message": "Injected failure"}})
                    if key and key in fake.idempotent:
                        status, body = fake.idempotent[key]
                        return self._answer(status, body, replayed=True)
                    status, body = fake.handle(method, path, _unflatten(parse_qsl(raw, keep_blank_values=True)))
                    if key and status < 500:
                        fake.idempotent[key] = (status, body)
                return self._answer(status, body)

            def do_POST(self):
                self._serve("POST")

            def do_GET(self):
                self._serve("GET")

        return Handler
