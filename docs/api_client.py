"""An example API client: log in, book the soonest free slot, pay, wait for the confirmation.

    python docs/api_client.py --base-url http://127.0.0.1:8000 --email pat@example.com --password ...

It uses nothing but httpx and the documented endpoints under /api/v1/ (see /api/v1/docs/):

1. POST /api/v1/auth/tokens/ for a token, sent as `Authorization: Bearer <token>` after that;
2. GET /api/v1/doctors/?sort=next_free and GET /api/v1/doctors/{id}/slots/ for a free slot;
3. POST /api/v1/appointments/ with an Idempotency-Key, so a retry after a lost answer books once;
4. "pays" on the checkout page it is given, as a browser would. With the development Stripe
   stand-in that is a plain HTML form taking a test card; with real Stripe a person pays there;
5. polls GET /api/v1/appointments/{id}/ until the payment provider's webhook has confirmed it;
6. lists the patient's appointments and revokes its token (a log-out).

Times are printed as the API gives them: on the doctor's clock, with its offset and zone.
Exit status 0 when the appointment was confirmed, 1 otherwise (the API's message is printed).
"""

import argparse
import re
import sys
import time
import urllib.parse
import uuid

import httpx

API = "/api/v1"
TEST_CARD = {"card_number": "4242 4242 4242 4242", "card_expiry": "12 / 34", "card_cvc": "123"}


class ApiError(Exception):
    """The API refused: its `error.message` is written to be shown to a person."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.code = code


def check(response: httpx.Response, *expected: int) -> dict:
    if response.status_code not in expected:
        try:
            error = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            raise ApiError(
                f"{response.request.method} {response.request.url.path}: HTTP {response.status_code}"
            ) from None
        raise ApiError(f"{error['message']} ({response.status_code} {error['code']})", error["code"])
    return response.json() if response.content else {}


def money(amount: dict) -> str:
    """Minor units as they come: 6500 gbp is £65.00, 8000 jpy is ¥8000."""
    return f"{amount['amount']} {amount['currency'].upper()} (minor units)"


def log_in(api: httpx.Client, email: str, password: str) -> dict:
    token = check(
        api.post(
            f"{API}/auth/tokens/", json={"email": email, "password": password, "name": "Example client", "days": 30}
        ),
        201,
    )
    api.headers["Authorization"] = f"Bearer {token['token']}"
    return token


def soonest_free_slot(api: httpx.Client) -> tuple[dict, dict]:
    """The first listed doctor with a free slot, and that slot."""
    doctors = check(api.get(f"{API}/doctors/", params={"sort": "next_free"}), 200)["results"]
    for doctor in doctors:
        if doctor["next_free_at"] is None:
            continue
        slots = check(api.get(f"{API}/doctors/{doctor['id']}/slots/"), 200)["results"]
        if slots:
            return doctor, slots[0]
    raise ApiError("No doctor has a free slot in the coming week.")


def book(api: httpx.Client, slot: dict, reason: str) -> dict:
    """Book with an Idempotency-Key: a second try after a timeout gets the first answer back."""
    key = str(uuid.uuid4())
    body = {"slot": slot["id"], "reason": reason}
    for attempt in range(1, 4):
        try:
            return check(api.post(f"{API}/appointments/", json=body, headers={"Idempotency-Key": key}), 201)
        except httpx.TransportError:  # the answer was lost: the same request again is safe
            if attempt == 3:
                raise
        except ApiError as exc:  # our first try is still being answered
            if exc.code != "request_in_progress" or attempt == 3:
                raise
        time.sleep(attempt)
    raise AssertionError("unreachable")


def pay_on_checkout_page(checkout_url: str, name: str) -> None:
    """What a patient does on the development stand-in's checkout page: fill in a test card, pay."""
    with httpx.Client(timeout=30) as browser:
        page = browser.get(checkout_url)
        page.raise_for_status()
        form = re.search(r'<form method="post" action="([^"]+)" class="pay">', page.text)
        if form is None:
            raise ApiError("The checkout page has no card form: pay there in a browser instead.")
        fields = {**TEST_CARD, "card_name": name}
        if not re.search(r'name="email"[^>]*readonly', page.text):
            fields["email"] = "patient@example.com"
        paid = browser.post(urllib.parse.urljoin(checkout_url, form.group(1)), data=fields)
        if paid.status_code != 303:  # paid: the page sends the browser back to the site
            raise ApiError("The checkout page did not take the payment.")


def wait_until_confirmed(api: httpx.Client, appointment_id: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        appointment = check(api.get(f"{API}/appointments/{appointment_id}/"), 200)
        if appointment["status"] != "pending_payment" or time.monotonic() > deadline:
            return appointment
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="The site, e.g. http://127.0.0.1:8000")
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--reason", default="Booked from the example API client")
    parser.add_argument("--wait", type=float, default=30, help="Seconds to wait for the confirmation.")
    args = parser.parse_args(argv)

    with httpx.Client(base_url=args.base_url.rstrip("/"), timeout=30) as api:
        try:
            token = log_in(api, args.email, args.password)
            me = check(api.get(f"{API}/me/"), 200)
            print(f"Logged in as {me['first_name']} {me['last_name']} <{me['email']}>")
            doctor, slot = soonest_free_slot(api)
            print(f"Soonest free slot: {doctor['name']}, {slot['starts_at']} ({slot['time_zone']})")
            booked = book(api, slot, args.reason)
            appointment = booked["appointment"]
            fee = appointment["fee"]
            print(f"Booked appointment {appointment['id']}: {appointment['status']}, fee {money(fee)}")
            checkout_url = booked["checkout_url"]
            if checkout_url is None:  # the hold stands; ask for the payment page again
                print(f"Payment page not ready: {booked['checkout_error']}")
                checkout_url = check(api.post(f"{API}/appointments/{appointment['id']}/pay/"), 200)["checkout_url"]
            print(f"Paying on {checkout_url}")
            pay_on_checkout_page(checkout_url, name=f"{me['first_name']} {me['last_name']}")
            appointment = wait_until_confirmed(api, appointment["id"], args.wait)
            print(
                f"Appointment {appointment['id']} is {appointment['status']}; payment {appointment['payment_status']}"
            )
            mine = check(api.get(f"{API}/appointments/"), 200)
            print(f"Upcoming appointments: {mine['count']}")
            for item in mine["results"]:
                doctor_name = item["doctor"]["name"]
                print(f"  #{item['id']} {item['starts_at']} {item['time_zone']} {doctor_name}: {item['status']}")
            check(api.delete(f"{API}/auth/tokens/{token['id']}/"), 204)
            print("Token revoked")
        except ApiError as exc:
            print(f"Refused: {exc}", file=sys.stderr)
            return 1
    return 0 if appointment["status"] == "confirmed" else 1


if __name__ == "__main__":
    sys.exit(main())
