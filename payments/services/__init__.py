"""Every write of the payments app, in parts that depend one way (import-linter holds it):

    time_off       a doctor's time off over confirmed visits: cancel them all or move them all
    checkout       booking = hold + payment; Checkout Sessions, resume, abandon, success page
    cancellation   canceling a confirmed visit, with the refund the policy (or the canceler) gives
    reschedule     a patient moving a paid visit inside the policy's window; the "moved" e-mail
    charge_refunds listing an intent's refunds at Stripe after a charge event asked for it
    drift          reconciliation: comparing payments with Stripe's objects and repairing drift
    facts          what Stripe reports: sessions, payment intents, charges, refunds, disputes
    refund_worker  issuing our requested refunds at Stripe, with retries
    reconcile      from the facts to the payment's status and the appointment
    receipts       gapless receipt and credit-note numbers, and issuing both from the facts
    refunds        refund rows: the ones we request and the ones Stripe tells us about
    common         idempotency keys, the patient-facing "unavailable" error, staff alerts

The names below are the public face the views, receivers, admin, tasks and tests use.
"""

from payments.services.cancellation import CancelRefused, appointment_cancel
from payments.services.charge_refunds import CHARGE_REFUNDS_SYNC_PENDING, charge_refunds_sync
from payments.services.checkout import (
    SESSION_CLOSE_PENDING,
    appointment_book,
    checkout_redirect_url,
    checkout_success,
    hold_cancel,
    payment_open,
    session_close,
    stripe_customer_for,
)
from payments.services.common import UNAVAILABLE_MESSAGE, PaymentUnavailable
from payments.services.drift import DriftReport, payments_drift_repair
from payments.services.facts import (
    charge_record,
    checkout_session_record,
    dispute_record,
    payment_intent_failure_record,
    refund_record,
    unusable_event_record,
)
from payments.services.receipts import document_number_take, payment_documents_issue
from payments.services.reconcile import payment_status_refresh
from payments.services.refund_worker import refund_issue
from payments.services.refunds import (
    REFUND_PENDING_WORK,
    RefundRefused,
    payment_refund,
    refunds_retry_now,
    refunds_settle,
)
from payments.services.reschedule import RescheduleRefused, appointment_reschedule
from payments.services.time_off import TimeOffResolution, VisitsInTimeOff, time_off_add_over_visits

__all__ = [
    "CHARGE_REFUNDS_SYNC_PENDING",
    "REFUND_PENDING_WORK",
    "SESSION_CLOSE_PENDING",
    "UNAVAILABLE_MESSAGE",
    "CancelRefused",
    "DriftReport",
    "PaymentUnavailable",
    "RefundRefused",
    "RescheduleRefused",
    "TimeOffResolution",
    "VisitsInTimeOff",
    "appointment_book",
    "appointment_cancel",
    "appointment_reschedule",
    "charge_record",
    "charge_refunds_sync",
    "checkout_redirect_url",
    "checkout_session_record",
    "checkout_success",
    "dispute_record",
    "document_number_take",
    "hold_cancel",
    "payment_documents_issue",
    "payment_intent_failure_record",
    "payment_open",
    "payment_refund",
    "payment_status_refresh",
    "payments_drift_repair",
    "refund_issue",
    "refund_record",
    "refunds_retry_now",
    "refunds_settle",
    "session_close",
    "stripe_customer_for",
    "time_off_add_over_visits",
    "unusable_event_record",
]
