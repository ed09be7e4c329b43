import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q

from appointments.models import Appointment
from hospital.models import Currency, DurableSideEffect


class PolicyTerms(models.Model):
    """A cancellation policy's terms: a full refund until `full_refund_hours` before the start,
    `partial_refund_percent` until `partial_refund_hours` before it, nothing after.

    Windows are elapsed time (UTC), so a DST change on the way moves no boundary; exactly at a
    boundary the better refund applies; amounts round down to the minor unit."""

    full_refund_hours = models.PositiveSmallIntegerField(default=24)
    partial_refund_hours = models.PositiveSmallIntegerField(default=2)
    partial_refund_percent = models.PositiveSmallIntegerField(default=50)

    class Meta:
        abstract = True

    def refund_percent(self, *, clock_at: dt.datetime, now: dt.datetime) -> int:
        """The share of the fee that comes back if canceled at `now`, for a visit whose refund
        clock (its original start) is `clock_at`."""
        # In UTC: Python subtracts two times of one zone by their wall clocks, DST ignored.
        ahead = clock_at.astimezone(dt.UTC) - now.astimezone(dt.UTC)
        if ahead >= dt.timedelta(hours=self.full_refund_hours):
            return 100
        if ahead >= dt.timedelta(hours=self.partial_refund_hours):
            return self.partial_refund_percent
        return 0

    def refund_amount(self, *, captured: int, clock_at: dt.datetime, now: dt.datetime) -> int:
        """In minor units, rounded down (integer division, so zero-decimal currencies too)."""
        return captured * self.refund_percent(clock_at=clock_at, now=now) // 100

    def terms_copy(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in POLICY_TERM_FIELDS}


POLICY_TERM_FIELDS = ("full_refund_hours", "partial_refund_hours", "partial_refund_percent")


def policy_terms_constraints(prefix: str) -> list[models.CheckConstraint]:
    return [
        models.CheckConstraint(
            condition=Q(partial_refund_hours__lte=models.F("full_refund_hours")),
            name=f"{prefix}_partial_window_inside_full",
        ),
        models.CheckConstraint(condition=Q(partial_refund_percent__lte=100), name=f"{prefix}_percent_at_most_100"),
    ]


class CancellationPolicy(PolicyTerms):
    """The policy in force for new bookings: one row, changed by administrators. Each payment
    keeps a copy of the terms made at booking (Payment's own PolicyTerms), so a change here
    touches nothing already booked."""

    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    class Meta:
        verbose_name_plural = "cancellation policy"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="cancellation_policy_one_row"),
            *policy_terms_constraints("cancellation_policy"),
        ]

    def __str__(self) -> str:
        return "Cancellation policy"

    @classmethod
    def in_force(cls) -> "CancellationPolicy":
        """The saved row, or the default terms (unsaved) until an administrator saves one. Never
        inserted here: bookings read it inside their transaction, and the first one inserting it
        would make every concurrent booking wait on that insert (tests/appointments/test_locks.py)."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)

    @classmethod
    def row(cls) -> "CancellationPolicy":
        """The row itself, made with the default terms if missing: for the admin page."""
        return cls.objects.get_or_create(pk=1)[0]


# Who may read amounts, refunds and disputes (billing and administrators; front desk reads a
# payment's status alone), and who may give money back by hand (accounts/staff_groups.py).
SEES_MONEY_PERMISSION = "payments.view_payment"
REFUND_PERMISSION = "payments.refund_payment"


class PaymentStatus(models.TextChoices):
    UNPAID = "unpaid", "Unpaid"
    PAID = "paid", "Paid"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"
    DISPUTED = "disputed", "Disputed"
    DISPUTE_LOST = "dispute_lost", "Dispute lost"


class DisputeStatus(models.TextChoices):
    NONE = "", "None"
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"
    INQUIRY_CLOSED = "inquiry_closed", "Inquiry closed without a chargeback"
    PREVENTED = "prevented", "Prevented before a chargeback"


class Payment(PolicyTerms):
    """What the patient owes for one appointment and the money facts Stripe reported about it,
    with the cancellation policy's terms as they were at booking.

    `status` is never set by hand: payments.services.reconcile derives it from the facts (captured
    amount, refund rows, dispute), so events arriving in any order or twice give the same status.
    """

    appointment = models.OneToOneField(Appointment, on_delete=models.PROTECT, related_name="payment")
    amount = models.PositiveIntegerField(help_text="In minor units, snapshot of the fee at booking.")
    currency = models.CharField(max_length=3, choices=Currency.choices)
    captured_amount = models.PositiveIntegerField(default=0)
    # Money on its way back or back: the refund rows of this payment's own payment intent that
    # Stripe accepted and has not reported failed (rows not yet attached count; refunds of a
    # duplicate payment give back other money and do not). Recomputed by
    # payments.services.reconcile.payment_status_refresh whenever a fact changes.
    refunded_amount = models.PositiveIntegerField(default=0, editable=False)
    dispute_status = models.CharField(max_length=20, choices=DisputeStatus.choices, blank=True, default="")
    # What the patient reads about the last failed attempt, in plain words.
    last_failure_reason = models.CharField(max_length=300, blank=True)
    # What Stripe said, codes and developer text, for staff only.
    last_failure_detail = models.CharField("Stripe's account of the last failure", max_length=500, blank=True)
    payment_intent_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # The visit's start when booked: the policy's windows count back from here even after the
    # patient reschedules, so moving a visit cannot buy a better refund.
    refund_clock_at = models.DateTimeField()
    status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID, editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        # Giving money back by hand: billing and administrators (accounts/staff_groups.py).
        permissions = [("refund_payment", "Can refund a payment")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=PaymentStatus.values), name="payment_status_known"),
            *policy_terms_constraints("payment_policy"),
        ]

    def __str__(self) -> str:
        return f"Payment #{self.pk} ({self.get_status_display()})"

    @classmethod
    def for_booking(cls, appointment: Appointment, *, policy: CancellationPolicy | None = None, **facts) -> "Payment":
        """An unsaved payment for a new booking: the fee and the policy in force, copied, and the
        refund clock set on the visit's start."""
        terms = (policy or CancellationPolicy.in_force()).terms_copy()
        return cls(
            appointment=appointment,
            amount=appointment.fee_amount,
            currency=appointment.fee_currency,
            refund_clock_at=appointment.slot.starts_at,
            **terms,
            **facts,
        )

    @property
    def money_received(self) -> bool:
        """Money for the visit arrived and has not all gone back: this is what confirms a booking.
        Disputes never move an appointment (DESIGN section 4), so they do not enter here."""
        return self.captured_amount > self.refunded_amount

    @property
    def fully_refunded(self) -> bool:
        return self.captured_amount > 0 and self.refunded_amount >= self.captured_amount

    @property
    def is_paid(self) -> bool:
        """Whether the visit counts as paid: received, not fully refunded, no lost dispute."""
        return self.money_received and self.dispute_status != DisputeStatus.LOST

    def derived_status(self) -> str:
        if self.dispute_status == DisputeStatus.LOST:
            return PaymentStatus.DISPUTE_LOST
        if self.dispute_status == DisputeStatus.OPEN:
            return PaymentStatus.DISPUTED
        if self.captured_amount == 0:
            return PaymentStatus.UNPAID
        refunded = self.refunded_amount
        if refunded >= self.captured_amount:
            return PaymentStatus.REFUNDED
        if refunded > 0:
            return PaymentStatus.PARTIALLY_REFUNDED
        return PaymentStatus.PAID


class CheckoutAttemptStatus(models.TextChoices):
    NEW = "new", "Not yet at Stripe"
    OPEN = "open", "Open"
    COMPLETE = "complete", "Complete"
    EXPIRED = "expired", "Expired"


class CheckoutAttempt(models.Model):
    """One Stripe Checkout Session we asked for, with the exact parameters and idempotency key,
    so a retried click replays the same session instead of creating a second one."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="checkout_attempts")
    idempotency_key = models.CharField(max_length=64, unique=True)
    params = models.JSONField()
    expires_at = models.DateTimeField(help_text="The session's expires_at sent to Stripe.")
    status = models.CharField(max_length=10, choices=CheckoutAttemptStatus.choices, default=CheckoutAttemptStatus.NEW)
    session_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    session_url = models.URLField(max_length=2048, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.session_id or f"Checkout attempt #{self.pk}"


class SessionClosing(DurableSideEffect):
    """A replaced Checkout Session still to be expired at Stripe, so it cannot be paid as well.

    Written in the transaction that replaces it ("resume payment"); the resume tries at once, and
    if Stripe cannot be reached the worker (or the patient's next resume) closes it later.
    """

    attempt = models.OneToOneField(CheckoutAttempt, on_delete=models.CASCADE, related_name="closing")
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Closing {self.attempt}"


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", "Requested (not yet at Stripe)"
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


class RefundReason(models.TextChoices):
    LATE_PAYMENT = "late_payment", "Paid after the hold lapsed and the slot was taken"
    DUPLICATE_PAYMENT = "duplicate_payment", "Paid twice for one appointment"
    STRIPE = "stripe", "Made in Stripe (e.g. the Dashboard)"
    PATIENT_CANCELED = "patient_canceled", "The patient canceled (by the cancellation policy)"
    DOCTOR_CANCELED = "doctor_canceled", "The doctor canceled (in full)"
    STAFF_CANCELED = "staff_canceled", "The hospital canceled (in full)"
    STAFF = "staff", "Refunded by billing staff"


# The refund that a cancellation gives: one per payment, however often "cancel" is pressed.
CANCELLATION_REFUND_REASONS = (
    RefundReason.PATIENT_CANCELED,
    RefundReason.DOCTOR_CANCELED,
    RefundReason.STAFF_CANCELED,
)


class RefundFollowUp(models.TextChoices):
    """What became of one of our refunds that Stripe accepted and the bank later returned."""

    NONE = "", "None"
    REISSUED = "reissued", "Returned by the bank; issued again automatically"
    NEEDS_STAFF = "needs_staff", "Returned by the bank; needs staff"
    SETTLED = "settled", "Returned by the bank; settled by staff"


class Refund(DurableSideEffect):
    """Money going back. Our own refunds start REQUESTED in the transaction that decided them and
    are issued by a retrying worker; refunds made in Stripe's Dashboard are recorded from events."""

    MONEY_RETURNED_STATUSES = (RefundStatus.PENDING, RefundStatus.SUCCEEDED)
    # Stripe had it, and then it did not go through: the money stayed with (or came back to) us.
    DID_NOT_GO_THROUGH_STATUSES = (RefundStatus.FAILED, RefundStatus.CANCELED)
    # How far each status is along Stripe's life cycle, so an older snapshot never overwrites a newer one.
    STATUS_RANK = {
        RefundStatus.REQUESTED: 0,
        RefundStatus.PENDING: 1,
        RefundStatus.SUCCEEDED: 2,
        RefundStatus.FAILED: 3,
        RefundStatus.CANCELED: 3,
    }

    # Empty only for a refund Stripe told us about before we could tell whose payment it is (its
    # payment intent is not known yet); recording that payment's capture attaches it.
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds", null=True, blank=True)
    payment_intent_id = models.CharField(max_length=255, help_text="The payment intent refunded.")
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, choices=Currency.choices)
    reason = models.CharField(max_length=20, choices=RefundReason.choices)
    status = models.CharField(max_length=10, choices=RefundStatus.choices, default=RefundStatus.REQUESTED)
    stripe_refund_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    idempotency_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    # One of our refunds the bank returned is issued again once, automatically; the second one
    # points back at the first, and a returned second one goes to staff (payments.services.refunds).
    reissue_of = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reissue", editable=False
    )
    follow_up = models.CharField(max_length=12, choices=RefundFollowUp.choices, blank=True, default="")
    # Who asked for one of our refunds, and why in their words (empty for automatic ones and for
    # refunds made in Stripe's Dashboard).
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    note = models.CharField("why", max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["payment"],
                condition=Q(reason__in=CANCELLATION_REFUND_REASONS, reissue_of__isnull=True),
                name="refund_one_cancellation_refund",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            # The automatic late-payment refund happens once per payment, however often the
            # event that triggers it is delivered (its one re-issue aside).
            models.UniqueConstraint(
                fields=["payment"],
                condition=Q(reason="late_payment", reissue_of__isnull=True),
                name="refund_one_late_payment_refund",
            ),
            models.UniqueConstraint(
                fields=["payment_intent_id"],
                condition=Q(reason="duplicate_payment", reissue_of__isnull=True),
                name="refund_one_duplicate_refund_per_intent",
            ),
            models.CheckConstraint(
                condition=Q(follow_up="") | Q(status__in=["failed", "canceled"]),
                name="refund_follow_up_only_when_failed",
            ),
        ]

    def __str__(self) -> str:
        return self.stripe_refund_id or f"Refund #{self.pk}"


class ChargeRefundsSyncStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Rejected by Stripe; staff told"


class ChargeRefundsSync(DurableSideEffect):
    """A payment intent whose refunds are to be listed at Stripe and recorded, after commit.

    A charge.refunded event told a refunded total our refund rows do not make up (before API
    version 2024-10-28 Stripe sends no refund.* event for a Dashboard refund, and since 2022-11-15
    a charge lists none). The receiver writes this row in the webhook's transaction, where no
    Stripe call may run; the worker (payments.services.charge_refunds) lists and records them.
    One row per intent: a later charge event sets it pending again with a newer `requested_at`.
    """

    payment_intent_id = models.CharField(max_length=255, unique=True)
    status = models.CharField(
        max_length=10, choices=ChargeRefundsSyncStatus.choices, default=ChargeRefundsSyncStatus.PENDING
    )
    requested_at = models.DateTimeField(help_text="When a charge event last asked for this listing.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "charge refunds listing"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ChargeRefundsSyncStatus.values), name="charge_refunds_sync_status_known"
            ),
        ]

    def __str__(self) -> str:
        return f"Refunds of {self.payment_intent_id} ({self.get_status_display()})"


class PaymentIntentLock(models.Model):
    """A row to lock per Stripe payment intent (payments.locks.lock_payment_intent): recording its
    capture and recording a refund of it take this first, so whichever commits second sees the
    first even when the refund comes before we know whose payment intent it is."""

    payment_intent_id = models.CharField(max_length=255, unique=True)

    def __str__(self) -> str:
        return self.payment_intent_id


class StripeCustomer(models.Model):
    """The one Stripe Customer of a patient, created on first checkout and reused after.

    The row comes first, with the create request's parameters and idempotency key, and the
    customer's id once Stripe answers: a create that timed out is retried with the same key and
    parameters, so Stripe replays the same customer instead of making a second one.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="stripe_customers")
    livemode = models.BooleanField()
    stripe_customer_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    idempotency_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    create_params = models.JSONField(default=dict, blank=True)
    key_created_at = models.DateTimeField(null=True, blank=True, help_text="Stripe forgets a key after 24 hours.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "livemode"], name="stripe_customer_one_per_user_and_mode"),
        ]

    def __str__(self) -> str:
        return self.stripe_customer_id or f"Customer of user #{self.user_id} (not yet at Stripe)"


class StripeDisputeStatus(models.TextChoices):
    """Every status Stripe documents for a dispute (an inquiry, `warning_*`, or a chargeback)."""

    WARNING_NEEDS_RESPONSE = "warning_needs_response", "Inquiry, needs a response"
    WARNING_UNDER_REVIEW = "warning_under_review", "Inquiry, under review"
    WARNING_CLOSED = "warning_closed", "Inquiry closed without a chargeback"
    NEEDS_RESPONSE = "needs_response", "Chargeback, needs a response"
    UNDER_REVIEW = "under_review", "Chargeback, under review"
    WON = "won", "Won"
    LOST = "lost", "Lost"
    # Stopped before it became a chargeback (e.g. Visa's Rapid Dispute Resolution, which refunds
    # the payment; that refund reaches us as a refund fact of its own).
    PREVENTED = "prevented", "Prevented before a chargeback"


class Dispute(models.Model):
    """One Stripe dispute, with Stripe's own status. A payment's dispute fact is derived from all of
    its disputes (`dispute_fact`), so a new dispute after a closed inquiry counts, whatever the
    order the events arrive in.

    `payment` is empty for a dispute we could not match, by its charge or payment intent, to a
    payment of ours that captured money: it is kept for staff (`note` says why) and touches no
    patient's payment or timeline."""

    S = StripeDisputeStatus
    # How far along Stripe's life cycle: an older snapshot never moves a dispute back, and a
    # closed one stays closed. An inquiry may be escalated to a chargeback.
    STATUS_RANK = {
        S.WARNING_NEEDS_RESPONSE: 1,
        S.WARNING_UNDER_REVIEW: 2,
        S.NEEDS_RESPONSE: 3,
        S.UNDER_REVIEW: 4,
        S.WARNING_CLOSED: 5,
        S.WON: 5,
        S.LOST: 5,
        S.PREVENTED: 5,
    }
    OPEN_STATUSES = (S.WARNING_NEEDS_RESPONSE, S.WARNING_UNDER_REVIEW, S.NEEDS_RESPONSE, S.UNDER_REVIEW)

    stripe_dispute_id = models.CharField(max_length=255, unique=True)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="disputes", null=True, blank=True)
    charge_id = models.CharField(max_length=255, blank=True)
    payment_intent_id = models.CharField(max_length=255, blank=True)
    amount = models.PositiveIntegerField(help_text="In minor units.")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=30, choices=StripeDisputeStatus.choices)
    reason = models.CharField(max_length=50, blank=True, help_text="The cardholder's reason, as Stripe names it.")
    evidence_due_by = models.DateTimeField(null=True, blank=True, help_text="Stripe's deadline for our evidence.")
    note = models.CharField(max_length=300, blank=True, help_text="Why it is not on any payment of ours.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="dispute_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=StripeDisputeStatus.values), name="dispute_status_known"),
        ]

    def __str__(self) -> str:
        return self.stripe_dispute_id

    @property
    def reason_words(self) -> str:
        """The cardholder's reason as staff read it; a reason Stripe adds later reads as its name."""
        return DISPUTE_REASON_WORDS.get(self.reason, self.reason.replace("_", " ").capitalize() or "Not given")

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


# Every reason Stripe documents for a dispute, in words.
DISPUTE_REASON_WORDS = {
    "bank_cannot_process": "The bank cannot process it",
    "check_returned": "Check returned",
    "credit_not_processed": "The patient says a promised refund was not made",
    "customer_initiated": "Started by the cardholder",
    "debit_not_authorized": "The patient says they did not authorise the debit",
    "duplicate": "The patient says they were charged twice",
    "fraudulent": "The cardholder says they did not make the payment (fraud)",
    "general": "General (no particular reason given)",
    "incorrect_account_details": "Incorrect account details",
    "insufficient_funds": "Insufficient funds",
    "noncompliant": "Not compliant with the card network's rules",
    "product_not_received": "The patient says the service was not provided",
    "product_unacceptable": "The patient says the service was not as described",
    "subscription_canceled": "The patient says a subscription was canceled",
    "unrecognized": "The cardholder does not recognise the payment",
}


def dispute_fact(statuses) -> str:
    """A payment's dispute fact from the Stripe statuses of all its disputes: money lost in one
    outweighs everything, then any still open, then how the closed ones ended."""
    statuses = set(statuses)
    S = StripeDisputeStatus
    if S.LOST in statuses:
        return DisputeStatus.LOST
    if statuses & set(Dispute.OPEN_STATUSES):
        return DisputeStatus.OPEN
    for stripe_status, fact in (
        (S.WON, DisputeStatus.WON),
        (S.PREVENTED, DisputeStatus.PREVENTED),
        (S.WARNING_CLOSED, DisputeStatus.INQUIRY_CLOSED),
    ):
        if stripe_status in statuses:
            return fact
    return DisputeStatus.NONE


class DocumentCounter(models.Model):
    """The last number given to a receipt or credit note in one year: the row is locked in the
    transaction that issues the next one, so a rollback gives the number back and no year has a
    gap (a database sequence would leave one)."""

    prefix = models.CharField(max_length=4)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prefix", "year"], name="document_counter_one_per_year")]

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}: {self.last_number}"


class NumberedDocument(models.Model):
    """A receipt or credit note: numbered per year of the hospital's own time zone, and holding
    only money words (a "Consultation", the doctor, the date), never health data."""

    PREFIX = ""

    year = models.PositiveSmallIntegerField()
    number = models.PositiveIntegerField()
    amount = models.PositiveIntegerField(help_text="In minor units.")
    currency = models.CharField(max_length=3, choices=Currency.choices)
    issued_at = models.DateTimeField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.display_number

    @property
    def display_number(self) -> str:
        return f"{self.PREFIX}-{self.year}-{self.number:06d}"


# The confirmation e-mail's receipt PDF: its kind of attachment, rendered by the e-mail worker.
RECEIPT_ATTACHMENT = "receipt"


class Receipt(NumberedDocument):
    """The receipt of one paid payment (R-2026-000123)."""

    PREFIX = "R"

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="receipt")

    class Meta:
        ordering = ["-year", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["year", "number"], name="receipt_number_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="receipt_amount_positive"),
        ]


class CreditNote(NumberedDocument):
    """The credit note of one refund that went through (CN-2026-000045)."""

    PREFIX = "CN"

    refund = models.OneToOneField(Refund, on_delete=models.PROTECT, related_name="credit_note")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="credit_notes")

    class Meta:
        ordering = ["-year", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["year", "number"], name="credit_note_number_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_note_amount_positive"),
        ]

    @property
    def voided(self) -> bool:
        """The bank returned its refund after it went through: the money did not go back after all.
        The note keeps its number (numbers have no gaps); a re-issued refund gets a note of its own."""
        return self.refund.status in Refund.DID_NOT_GO_THROUGH_STATUSES


class UnusableEvent(models.Model):
    """A signed Stripe event whose object we cannot use (an amount missing, a metadata id that is no
    id, an object naming a payment its charge is not of). Kept for staff and acknowledged: Stripe
    would retry a 500 for three days, and no retry can change what the event says."""

    event_id = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=255, blank=True)
    reason = models.TextField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"
