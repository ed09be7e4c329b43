"""The database connection cut in the middle of a booking run (issue 13, faults): every answer
during the cut is the 503 "briefly unavailable" page, quickly; after it the same server books
again; and nothing is half-written, in our tables or at Stripe.

A real gunicorn serves patients who book over HTTP from several threads, two patients to each
slot; its database connections go through a TcpProxy that the test cuts (every open connection
closed both ways, new ones refused) and restores. The test's own database connection does not go
through the proxy, so it checks the rows while the server cannot."""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass

import pytest
from django.db.models import Count

from appointments.models import Appointment, AppointmentStatus
from appointments.views import HELD_BUT_UNAVAILABLE
from hospital.middleware import UNAVAILABLE_MESSAGE
from payments.models import CheckoutAttempt, Payment, StripeCustomer
from payments.stripe_objects import METADATA_PAYMENT, METADATA_USER
from tests.factories import PatientFactory, SlotFactory
from tests.faults.conftest import Browser, logged_in

pytestmark = pytest.mark.postgres_only

SLOTS = 30
THREADS = 4
BOOKINGS_BEFORE_THE_CUT = 6
CUT_SECONDS = 3
# A patient who is told "try again" does, a moment later.
RETRY_PAUSE_SECONDS = 0.2
# No answer, during the cut or not, may take longer than this.
ANSWER_BOUND_SECONDS = 8
RUN_TIMEOUT_SECONDS = 90


@dataclass
class Answer:
    patient: int
    slot_id: int
    started: float
    finished: float
    status: int
    location: str
    text: str
    retry_after: str


class BookingRun:
    """Threads take (patient, slot) bookings from one queue and POST them; a booking answered 503
    goes back to the end of the queue, as a patient would try again."""

    def __init__(self, browsers: list[Browser], tasks: list[tuple[int, int]]):
        self.browsers = browsers
        self.tasks = collections.deque(tasks)
        self.in_flight = 0
        self.lock = threading.Lock()
        self.answers: list[Answer] = []
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self._work, daemon=True) for _ in range(THREADS)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), f"bookings still running after {timeout} s"

    def booked(self) -> int:
        with self.lock:
            return sum(a.status == 303 for a in self.answers)

    def _next(self) -> tuple[int, int] | None:
        while True:
            with self.lock:
                if self.tasks:
                    self.in_flight += 1
                    return self.tasks.popleft()
                if not self.in_flight:
                    return None
            time.sleep(0.05)  # a retry may still come back

    def _work(self) -> None:
        while (task := self._next()) is not None:
            patient, slot_id = task
            started = time.monotonic()
            try:
                response = self.browsers[patient].post(f"/appointments/book/{slot_id}/", {"reason": "Check-up"})
            except Exception as exc:  # a hang or a dropped connection: the test fails on it below
                with self.lock:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                    self.in_flight -= 1
                continue
            answer = Answer(
                patient, slot_id, started, time.monotonic(), response.status_code, response.headers.get("location", ""),
                response.text, response.headers.get("retry-after", ""),
            )  # fmt: skip
            if answer.status == 503:
                time.sleep(RETRY_PAUSE_SECONDS)
            with self.lock:
                self.answers.append(answer)
                if answer.status == 503:
                    self.tasks.append(task)
                self.in_flight -= 1


def wait_until(condition, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.02)


def test_a_database_cut_mid_booking_fails_cleanly_recovers_and_leaves_nothing_half_written(
    app_server, db_proxy, standin
):
    slots = [SlotFactory() for _ in range(SLOTS)]
    patients = [PatientFactory() for _ in range(SLOTS)]
    browsers = [logged_in(patient, app_server.url) for patient in patients]
    # Two patients for each slot, one right after the other: they race for it.
    tasks = [(i % SLOTS, slots[i // 2].pk) for i in range(2 * SLOTS)]
    run = BookingRun(browsers, tasks)

    run.start()
    try:
        wait_until(lambda: run.booked() >= BOOKINGS_BEFORE_THE_CUT, 30, "no bookings before the cut")
        db_proxy.cut()
        cut_at = time.monotonic()  # from here on no connection gets through
        time.sleep(CUT_SECONDS)
        restoring_at = time.monotonic()
        db_proxy.restore()
        restored_at = time.monotonic()  # from here on connections get through again
    finally:
        db_proxy.restore()
        run.join(RUN_TIMEOUT_SECONDS)

    # -- what the patients saw ------------------------------------------------------------------
    answers = run.answers
    context = f"\n--- server log ---\n{app_server.log_tail()}"
    assert run.errors == [], context
    assert {a.status for a in answers} <= {302, 303, 409, 503}, context
    assert max(a.finished - a.started for a in answers) < ANSWER_BOUND_SECONDS
    during = [a for a in answers if a.started >= cut_at and a.finished <= restoring_at]
    assert len(during) >= THREADS, "the cut was too short to be seen"
    for answer in during:
        assert (answer.status, answer.retry_after) == (503, "60")
        assert UNAVAILABLE_MESSAGE in answer.text
    # A booking the cut caught after its hold committed says the time is held, not "nothing saved".
    said_held = {(a.patient, a.slot_id) for a in answers if a.status == 503 and HELD_BUT_UNAVAILABLE in a.text}
    for answer in [a for a in answers if a.status == 503]:
        assert UNAVAILABLE_MESSAGE in answer.text or HELD_BUT_UNAVAILABLE in answer.text
    # Recovered without a restart: every booking sent after the restore got a real answer.
    after = [a for a in answers if a.started >= restored_at]
    assert after
    assert [a for a in after if a.status == 503] == []

    # -- what the database holds: whole bookings only, one per slot -----------------------------
    final = {(a.patient, a.slot_id): a for a in answers}  # each booking's last answer
    assert len(final) == 2 * SLOTS
    appointments = Appointment.objects.select_related("payment").prefetch_related("payment__checkout_attempts")
    assert appointments.count() == SLOTS
    assert not Appointment.objects.values("slot").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert Payment.objects.count() == CheckoutAttempt.objects.count() == SLOTS
    for appointment in appointments:
        assert appointment.status == AppointmentStatus.PENDING_PAYMENT
        (attempt,) = appointment.payment.checkout_attempts.all()
        answer = final[patients.index(appointment.patient), appointment.slot_id]
        if answer.status == 303:
            assert answer.location == attempt.session_url
        else:  # answered 503 after its hold committed; the retry found the hold
            assert (answer.status, answer.location) == (302, f"/appointments/{appointment.pk}/")
    for patient, slot_id in said_held:
        assert Appointment.objects.filter(patient=patients[patient], slot_id=slot_id).exists()
    for (patient, slot_id), answer in final.items():
        if answer.status == 409:
            assert "someone has just booked this time" in answer.text
            assert Appointment.objects.filter(slot_id=slot_id).exclude(patient=patients[patient]).exists()

    # -- and at Stripe: no session or customer we lost track of ---------------------------------
    sessions = {s["id"]: s for s in standin.get("checkout/sessions?limit=100")["data"]}
    payment_ids = set(Payment.objects.values_list("pk", flat=True))
    assert {int(s["metadata"][METADATA_PAYMENT]) for s in sessions.values()} <= payment_ids
    # A session whose id we could not store (the database went away after Stripe answered) is
    # replayed by "Pay now", which sends the same idempotency key: no second payable page.
    unrecorded = CheckoutAttempt.objects.filter(session_id__isnull=True).select_related("payment__appointment")
    for attempt in unrecorded:
        appointment = attempt.payment.appointment
        response = browsers[patients.index(appointment.patient)].post(f"/appointments/{appointment.pk}/pay/")
        assert response.status_code == 303, response.text[:500]
    attempts = dict(CheckoutAttempt.objects.values_list("session_id", "payment_id"))
    sessions = {s["id"]: s for s in standin.get("checkout/sessions?limit=100")["data"]}
    assert set(attempts) == set(sessions)
    assert all(int(sessions[sid]["metadata"][METADATA_PAYMENT]) == pid for sid, pid in attempts.items())
    customers = standin.get("customers?limit=100")["data"]
    owners = [c["metadata"][METADATA_USER] for c in customers]
    assert len(owners) == len(set(owners)), "a patient got two Stripe customers"
    assert set(StripeCustomer.objects.values_list("stripe_customer_id", flat=True)) == {c["id"] for c in customers}
