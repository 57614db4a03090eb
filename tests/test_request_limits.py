"""One limit on request bodies (DATA_UPLOAD_MAX_MEMORY_SIZE), enforced before anything reads the body:
a declared length above it is a 413, a body without a declared length a 411, both saying in words what
is wrong, for every URL and whoever asks. (The real servers: tests/test_serving.py.)"""

import json

import pytest
from django.test import Client, override_settings

from booking.models import Booking

URL = "/api/v1/bookings/"


@pytest.fixture
def client(world):
    c = Client()
    c.force_login(world.researcher)
    return c


def body_of(size: int) -> bytes:
    return json.dumps({"purpose": "x" * size}).encode()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
@pytest.mark.parametrize("url", [URL, "/login/", "/api/v1/auth/token/", "/no/such/page/"])
def test_a_body_above_the_limit_is_413_with_words(client, url):
    response = client.generic("POST", url, body_of(2000), content_type="application/json")
    assert response.status_code == 413
    assert response["Connection"] == "close"
    detail = response.json()["detail"]
    assert "too large" in detail and "at most 1000 bytes" in detail and str(len(body_of(2000))) in detail
    assert not Booking.objects.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_body_at_the_limit_goes_on_to_the_view(client, world):
    body = body_of(1000 - len(body_of(0)))
    assert len(body) == 1000
    response = client.generic("POST", URL, body, content_type="application/json")
    assert response.status_code == 400  # the view's answer: no instrument, start or end
    assert "instrument" in response.json()


def test_the_limit_is_read_at_each_request(client, settings):
    body = body_of(5000)
    assert client.generic("POST", URL, body, content_type="application/json").status_code == 400
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    assert client.generic("POST", URL, body, content_type="application/json").status_code == 413


def test_a_body_without_a_length_is_411_with_words(client):
    response = client.generic(
        "POST", URL, b"", content_type="application/json", HTTP_TRANSFER_ENCODING="chunked", CONTENT_LENGTH=""
    )
    assert response.status_code == 411
    assert "Content-Length" in response.json()["detail"]


def test_a_length_that_is_no_number_is_400_with_words(client):
    response = client.generic("POST", URL, b"{}", content_type="application/json", CONTENT_LENGTH="12ab")
    assert response.status_code == 400
    assert "not a number of bytes" in response.json()["detail"]
