import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

from accounts.models import Role
from hospital.models import Currency, Doctor, Rating, Slot, VisitType


class AppointmentStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "Awaiting payment"
    CONFIRMED = "confirmed", "Confirmed"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    NO_SHOW = "no_show", "No-show"
    CANCELED = "canceled", "Canceled"
    EXPIRED = "expired", "Expired"


# An appointment in one of these holds its slot; the database allows one per slot.
ACTIVE_STATUSES = (
    AppointmentStatus.PENDING_PAYMENT,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.IN_PROGRESS,
    AppointmentStatus.COMPLETED,
    AppointmentStatus.NO_SHOW,
)


class CancelReason(models.TextChoices):
    HOLD_CANCELED = "hold_canceled", "Patient canceled the hold before paying"
    REFUNDED = "refunded", "Payment refunded in full"
    PATIENT = "patient", "Canceled by the patient"
    DOCTOR = "doctor", "Canceled by the doctor"
    STAFF = "staff", "Canceled by the hospital"


class AppointmentQuerySet(models.QuerySet):
    def visible_to(self, user) -> "AppointmentQuerySet":
        if not user.is_authenticated:
            return self.none()
        if user.role == Role.STAFF:
            return self
        if user.role == Role.DOCTOR:
            return self.filter(doctor__user=user)
        return self.filter(patient=user)

    def attended_by(self, user) -> "AppointmentQuerySet":
        """The user's own visits: as their patient or as their doctor (staff attend none)."""
        if not user.is_authenticated:
            return self.none()
        if user.role == Role.DOCTOR:
            return self.filter(doctor__user=user)
        if user.role == Role.PATIENT:
            return self.filter(patient=user)
        return self.none()

    def holding_slot(self, *, now) -> "AppointmentQuerySet":
        """Appointments that keep their slot from others right now (a lapsed hold does not)."""
        return self.filter(status__in=ACTIVE_STATUSES).exclude(
            status=AppointmentStatus.PENDING_PAYMENT, hold_expires_at__lte=now
        )

    def live_holds(self, *, now) -> "AppointmentQuerySet":
        return self.filter(status=AppointmentStatus.PENDING_PAYMENT, hold_expires_at__gt=now)


# Staff who may cancel a confirmed visit for the hospital, refunding it in full (front desk,
# billing, administrators: accounts/staff_groups.py).
CANCEL_PERMISSION = "appointments.cancel_appointment"


class Appointment(models.Model):
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments")
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="appointments")
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="appointments")
    status = models.CharField(
        max_length=20, choices=AppointmentStatus.choices, default=AppointmentStatus.PENDING_PAYMENT
    )
    # While PENDING_PAYMENT: the slot is the patient's until then; afterwards anyone may book it.
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    # The fee in force when booked; later fee changes do not touch this appointment.
    fee_amount = models.PositiveIntegerField(help_text="In minor units (cents, pence; yen as is).")
    fee_currency = models.CharField(max_length=3, choices=Currency.choices)
    reason = models.TextField("reason for visit", max_length=1000, blank=True)
    # Where the visit takes place, copied from the doctor's settings at booking like the fee.
    visit_type = models.CharField(max_length=10, choices=VisitType.choices, default=VisitType.IN_PERSON)
    location_site = models.CharField("site", max_length=200, blank=True)
    location_room = models.CharField("room", max_length=100, blank=True)
    # A video visit's room on the video server: random and unguessable, since whoever knows the
    # name can join the call. Never shown to staff or put in the doctor's calendar feed.
    video_room = models.CharField(max_length=64, blank=True)
    cancel_reason = models.CharField(max_length=20, choices=CancelReason.choices, blank=True)
    # Why the doctor or the hospital canceled, in their words: the patient reads it.
    cancel_note = models.CharField("why it was canceled", max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["-slot__starts_at"]
        permissions = [("cancel_appointment", "Can cancel a confirmed appointment and refund it in full")]
        constraints = [
            models.UniqueConstraint(
                fields=["slot"],
                condition=Q(status__in=ACTIVE_STATUSES),
                name="appointment_one_active_per_slot",
            ),
            models.CheckConstraint(condition=Q(fee_amount__gt=0), name="appointment_fee_positive"),
            models.CheckConstraint(condition=Q(status__in=AppointmentStatus.values), name="appointment_status_known"),
            models.CheckConstraint(
                condition=~Q(status=AppointmentStatus.PENDING_PAYMENT) | Q(hold_expires_at__isnull=False),
                name="appointment_pending_has_hold_expiry",
            ),
            models.CheckConstraint(condition=Q(visit_type__in=VisitType.values), name="appointment_visit_type_known"),
            # A video visit has its room, and only a video visit has one.
            models.CheckConstraint(
                condition=Q(visit_type=VisitType.VIDEO, video_room__gt="")
                | (~Q(visit_type=VisitType.VIDEO) & Q(video_room="")),
                name="appointment_video_room_iff_video",
            ),
            models.UniqueConstraint(
                fields=["video_room"], condition=~Q(video_room=""), name="appointment_video_room_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "status"]),
            models.Index(fields=["doctor", "status"]),
        ]

    def __str__(self) -> str:
        return f"Appointment #{self.pk} ({self.get_status_display()})"

    def hold_is_live(self, *, now) -> bool:
        return self.status == AppointmentStatus.PENDING_PAYMENT and self.hold_expires_at > now


class AppointmentLogEntry(models.Model):
    """One line of an appointment's timeline, written by the service that made the change."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="log_entries")
    at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=AppointmentStatus.choices)
    message = models.CharField(max_length=300)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name_plural = "appointment log entries"

    def __str__(self) -> str:
        return self.message


REVIEW_COMMENT_MAX_LENGTH = 1000


class Review(models.Model):
    """A patient's rating of their completed, paid visit: one per appointment, never edited, so the
    totals on the doctor (hospital.Doctor.review_count, .rating_sum) count each one once."""

    appointment = models.OneToOneField(Appointment, on_delete=models.PROTECT, related_name="review")
    rating = models.PositiveSmallIntegerField(choices=Rating.choices)
    comment = models.TextField(max_length=REVIEW_COMMENT_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(rating__in=Rating.values), name="review_rating_on_the_scale"),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("comment"), REVIEW_COMMENT_MAX_LENGTH),
                name="review_comment_length_limited",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rating} out of {max(Rating.values)} for appointment #{self.appointment_id}"


class DoctorCalendarFeed(models.Model):
    """A doctor's private calendar subscription (an .ics URL that calendar apps poll).

    Only the SHA-256 of the URL's token is kept: a copy of the database gives no working feed
    URL. The token itself is shown to the doctor once, when made; a new one replaces it, and
    deleting the row revokes the feed."""

    doctor = models.OneToOneField(Doctor, on_delete=models.CASCADE, related_name="calendar_feed")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    last_fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "doctor's calendar feed"

    def __str__(self) -> str:
        return f"Calendar feed of {self.doctor}"

    @staticmethod
    def hash_token(token: str) -> str:
        # The token is 256 random bits: a plain SHA-256 is enough, no slow password hash needed.
        return hashlib.sha256(token.encode()).hexdigest()


class VisitNoteIsSigned(Exception):
    """A signed note (or an addendum, signed when written) was about to be changed or removed."""


class VisitNoteQuerySet(models.QuerySet):
    """Bulk writes may touch drafts only: a signed note is the record of the visit."""

    def update(self, **kwargs):
        if self.filter(signed_at__isnull=False).exists():
            raise VisitNoteIsSigned("A signed visit note cannot be changed; add an addendum instead.")
        return super().update(**kwargs)

    def delete(self):
        if self.filter(signed_at__isnull=False).exists():
            raise VisitNoteIsSigned("A signed visit note cannot be deleted.")
        return super().delete()


class VisitNote(models.Model):
    """The doctor's note of one visit: a draft while the visit is in progress, signed by the doctor
    when it completes, then never changed again (corrections are addenda).

    Written through appointments.services only. Guarded three times over: the services refuse,
    `save`/`delete` and the queryset refuse a signed row, and the database itself refuses to
    change a signed row (triggers installed by appointments.note_guards after migrate)."""

    appointment = models.OneToOneField(Appointment, on_delete=models.PROTECT, related_name="visit_note")
    text = models.TextField(max_length=20000, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = VisitNoteQuerySet.as_manager()

    class Meta:
        constraints = [
            # A signature is a person and a moment: never one without the other.
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True, signed_by__isnull=True)
                | Q(signed_at__isnull=False, signed_by__isnull=False),
                name="visitnote_signed_at_and_by_together",
            ),
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True) | Q(signed_at__gte=models.F("updated_at")),
                name="visitnote_signed_after_last_edit",
            ),
        ]

    def __str__(self) -> str:
        return f"Visit note of appointment #{self.appointment_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            self._refuse_if_signed("changed")
        super().save(*args, **kwargs)
        self._signed_when_loaded = self.signed_at is not None

    def delete(self, *args, **kwargs):
        self._refuse_if_signed("deleted")
        return super().delete(*args, **kwargs)

    @classmethod
    def from_db(cls, db, field_names, values):
        note = super().from_db(db, field_names, values)
        note._signed_when_loaded = note.signed_at is not None if "signed_at" in field_names else None
        return note

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    def _refuse_if_signed(self, doing: str) -> None:
        signed = getattr(self, "_signed_when_loaded", None)
        if signed is None and self.pk is not None:  # loaded without signed_at: ask the database
            signed = VisitNote.objects.filter(pk=self.pk, signed_at__isnull=False).exists()
        if signed:
            raise VisitNoteIsSigned(f"A signed visit note cannot be {doing}; add an addendum instead.")


class VisitNoteAddendumQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise VisitNoteIsSigned("An addendum cannot be changed; add another one.")

    def delete(self):
        raise VisitNoteIsSigned("An addendum cannot be deleted.")


class VisitNoteAddendum(models.Model):
    """A dated, signed correction or addition to a signed note; written once, never changed."""

    note = models.ForeignKey(VisitNote, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(max_length=5000)
    signed_at = models.DateTimeField()

    objects = VisitNoteAddendumQuerySet.as_manager()

    class Meta:
        ordering = ["signed_at", "pk"]
        verbose_name_plural = "visit note addenda"
        constraints = [models.CheckConstraint(condition=~Q(text=""), name="visitnoteaddendum_text_given")]

    def __str__(self) -> str:
        return f"Addendum #{self.pk} to visit note #{self.note_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise VisitNoteIsSigned("An addendum cannot be changed; add another one.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise VisitNoteIsSigned("An addendum cannot be deleted.")
