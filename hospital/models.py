import datetime as dt
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Role
from accounts.timezones import validate_timezone_name
from hospital import slot_holders
from hospital.money import MINIMUM_CHARGE, format_money
from hospital.timefmt import format_span


class Currency(models.TextChoices):
    USD = "usd", "US dollar"
    EUR = "eur", "Euro"
    GBP = "gbp", "Pound sterling"
    JPY = "jpy", "Japanese yen"
    AUD = "aud", "Australian dollar"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class Specialty(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "specialties"

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)
        super().save(*args, **kwargs)


class Rating(models.IntegerChoices):
    """How a patient rates a visit (appointments.Review); the doctor keeps the totals of theirs."""

    POOR = 1, "Poor"
    FAIR = 2, "Fair"
    GOOD = 3, "Good"
    VERY_GOOD = 4, "Very good"
    EXCELLENT = 5, "Excellent"


# Doctor's fields that only hospital.services.doctor_rating_add writes.
RATING_TOTALS = frozenset({"review_count", "rating_sum"})


class VisitType(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    VIDEO = "video", "Video call"


class DoctorQuerySet(models.QuerySet):
    def visible_to(self, user) -> "DoctorQuerySet":
        """Staff see every doctor, including inactive ones; everybody else only active ones."""
        if user.is_authenticated and user.is_staff:
            return self
        return self.filter(is_active=True)


class Doctor(models.Model):
    user = models.OneToOneField(
        "accounts.User",
        on_delete=models.PROTECT,
        related_name="doctor_profile",
        limit_choices_to={"role": Role.DOCTOR},
    )
    specialty = models.ForeignKey(Specialty, on_delete=models.PROTECT, related_name="doctors")
    bio = models.TextField(blank=True)
    fee_amount = models.PositiveIntegerField(
        "consultation fee",
        help_text="Stored in the currency's minor unit: 5000 is $50.00; for yen, 5000 is ¥5,000.",
    )
    fee_currency = models.CharField("currency", max_length=3, choices=Currency.choices, default=Currency.USD)
    slot_minutes = models.PositiveSmallIntegerField(
        "slot length (minutes)",
        default=30,
        validators=[
            MinValueValidator(5, "A slot lasts at least 5 minutes."),
            MaxValueValidator(240, "A slot lasts at most 240 minutes (4 hours)."),
        ],
    )
    # No `choices` here: the list of zones comes from the system's tz database, which differs
    # between machines and would make migrations flap. The admin form offers the list instead.
    timezone = models.CharField(
        max_length=64, validators=[validate_timezone_name], help_text="IANA name, e.g. Europe/London."
    )
    is_active = models.BooleanField(
        "listed", default=True, help_text="Unlisted doctors are hidden from patients and get no new slots."
    )
    # The totals of the patients' ratings, kept here by hospital.services.doctor_rating_add in the
    # transaction that records each review: the directory and the doctor page show the average
    # without reading a single review.
    review_count = models.PositiveIntegerField(default=0, editable=False)
    rating_sum = models.PositiveIntegerField(default=0, editable=False)
    # How new bookings take place. Each appointment keeps a copy of these made when it was booked
    # (appointments.services.appointment_hold), so a later change moves no visit already booked.
    visit_type = models.CharField(
        "visits",
        max_length=10,
        choices=VisitType.choices,
        default=VisitType.IN_PERSON,
        help_text="How new bookings take place. Visits already booked keep the place they were booked with.",
    )
    site = models.CharField(
        max_length=200,
        blank=True,
        help_text="Where in-person visits take place: the building and its address, "
        "e.g. Riverside Building, 1 Riverside Way.",
    )
    room = models.CharField(
        max_length=100, blank=True, help_text="Optional, e.g. Room 2.14 (Cardiology outpatients, second floor)."
    )

    objects = DoctorQuerySet.as_manager()

    class Meta:
        ordering = ["user__last_name", "user__first_name"]
        constraints = [
            # Stripe refuses a charge below its minimum: a smaller fee makes every booking unpayable.
            *(
                models.CheckConstraint(
                    condition=~Q(fee_currency=currency) | Q(fee_amount__gte=minimum),
                    name=f"hospital_doctor_fee_at_least_stripe_minimum_{currency}",
                )
                for currency, minimum in MINIMUM_CHARGE.items()
            ),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5, slot_minutes__lte=240), name="hospital_doctor_slot_minutes_range"
            ),
            models.CheckConstraint(
                condition=Q(fee_currency__in=Currency.values), name="hospital_doctor_currency_valid"
            ),
            # Every rating is on the scale, so the sum lies between count × lowest and count × highest
            # (and is 0 with no reviews): the average shown is always on the scale too.
            models.CheckConstraint(
                condition=Q(
                    rating_sum__gte=models.F("review_count") * min(Rating.values),
                    rating_sum__lte=models.F("review_count") * max(Rating.values),
                ),
                name="hospital_doctor_rating_totals_on_the_scale",
            ),
            models.CheckConstraint(
                condition=Q(visit_type__in=VisitType.values), name="hospital_doctor_visit_type_known"
            ),
            # Patients booking an in-person visit must be told where to go.
            models.CheckConstraint(
                condition=~Q(visit_type=VisitType.IN_PERSON) | ~Q(site=""), name="hospital_doctor_in_person_has_site"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args, **kwargs):
        # The rating totals change only by doctor_rating_add's UPDATE. A save of a doctor read
        # before a review (the admin's form, any profile edit) would write the old totals back.
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in RATING_TOTALS
            ]
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        return f"Dr {self.user.get_full_name()}"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def clean(self):
        super().clean()
        if self.user_id and self.user.role != Role.DOCTOR:
            raise ValidationError({"user": "Only an account with the doctor role can have a doctor profile."})
        minimum = MINIMUM_CHARGE.get(self.fee_currency)
        if minimum is not None and self.fee_amount is not None and self.fee_amount < minimum:
            raise ValidationError(
                {
                    "fee_amount": f"The fee must be at least {format_money(minimum, self.fee_currency)}: "
                    f"Stripe refuses smaller payments in {Currency(self.fee_currency).label}."
                }
            )
        if self.visit_type == VisitType.IN_PERSON and not self.site.strip():
            raise ValidationError({"site": "In-person visits need a site, so patients know where to go."})


class ScheduleQuerySet(models.QuerySet):
    def visible_to(self, user) -> "ScheduleQuerySet":
        """A doctor's own working hours or time off; staff see everyone's."""
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self
        if user.role == Role.DOCTOR:
            return self.filter(doctor__user=user)
        return self.none()


class WorkingHours(models.Model):
    """A weekly opening window, in the doctor's own local wall-clock time."""

    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()

    objects = ScheduleQuerySet.as_manager()

    class Meta:
        ordering = ["weekday", "start_time"]
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=models.F("start_time")), name="hospital_workinghours_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="hospital_workinghours_weekday_valid"),
            models.UniqueConstraint(
                fields=["doctor", "weekday", "start_time"], name="hospital_workinghours_unique_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M}"

    def clean(self):
        super().clean()
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            raise ValidationError({"end_time": "The end time must be after the start time."})

    def overlaps(self, other: "WorkingHours") -> bool:
        return self.weekday == other.weekday and self.start_time < other.end_time and other.start_time < self.end_time


class TimeOff(models.Model):
    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="time_off")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    objects = ScheduleQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        verbose_name_plural = "time off"
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="hospital_timeoff_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.doctor}: {self.local_span}"

    @property
    def local_span(self) -> str:
        """In the doctor's zone, named: staff plan time off in the doctor's local time."""
        return format_span(self.starts_at, self.ends_at, self.doctor.timezone)

    def clean(self):
        super().clean()
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The end must be after the start."})


def booking_cutoff() -> dt.timedelta:
    """Online booking of a slot closes this long before it starts: a hold made before then (its
    Checkout Session plus the grace) ends before the visit does (payments.checks holds that)."""
    return dt.timedelta(minutes=settings.BOOKING_CLOSES_MINUTES_BEFORE_START)


def booking_cutoff_words() -> str:
    """The cut-off as pages and messages say it: "1 hour", "2 hours", "45 minutes"."""
    minutes = settings.BOOKING_CLOSES_MINUTES_BEFORE_START
    if minutes % 60:
        return f"{minutes} minute{pluralize(minutes)}"
    return f"{minutes // 60} hour{pluralize(minutes // 60)}"


class SlotQuerySet(models.QuerySet):
    def bookable(self, *, now=None) -> "SlotQuerySet":
        """Slots a patient may pick: starting after the booking cut-off, not blocked by staff, and
        not held by an appointment. A payment hold that has lapsed does not count: the next
        booking expires it."""
        now = now or timezone.now()
        slots = self.filter(starts_at__gt=now + booking_cutoff(), is_blocked=False)
        for holding in slot_holders.holding_querysets(now=now):
            slots = slots.exclude(models.Exists(holding.filter(slot=models.OuterRef("pk"))))
        return slots


class Slot(models.Model):
    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="slots")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    is_blocked = models.BooleanField("blocked", default=False, help_text="Blocked slots are not offered to patients.")

    objects = SlotQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["doctor", "starts_at"], name="hospital_slot_unique_doctor_start"),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="hospital_slot_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        local = timezone.localtime(self.starts_at, self.doctor.zone)
        return f"{self.doctor} · {local:%a %d %b %Y %H:%M} {local.tzname()}"


def first_sweep_time():
    """When the sweeper may first re-queue a new row: its own task, enqueued with it, runs before."""
    return timezone.now() + dt.timedelta(minutes=5)


class DurableSideEffect(models.Model):
    """Work that must happen after a transaction commits (a refund to issue, an e-mail to send).

    The row is written in the transaction that decided the work; a worker claims it, does it
    outside any transaction and records the outcome; failures are retried with backoff by the
    sweeper. `claimed_until` lets a worker killed mid-call be replaced once the claim lapses.
    """

    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=first_sweep_time, db_index=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        abstract = True


class EmailStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed for good"


class OutboundEmail(DurableSideEffect):
    """An e-mail to send at least once. `key` makes the decision to send idempotent (one
    confirmation per appointment however often the event arrives); `message_id` stays the same
    across retries so a duplicate delivery is detectable by mail clients."""

    key = models.CharField(max_length=200, unique=True)
    to = models.EmailField()
    subject = models.CharField(max_length=300)
    body = models.TextField()  # the plain-text part
    # The HTML alternative of the same words (rows queued before it existed have none).
    html_body = models.TextField(blank=True)
    message_id = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "outbound e-mail"

    def __str__(self) -> str:
        return f"{self.subject} → {self.to}"


class EmailAttachment(models.Model):
    """One file attached to an outbound e-mail, in the order it was queued.

    Either its bytes were decided in the transaction that queued the e-mail (an .ics), or the row
    names what to attach (`rendered_kind` and `rendered_object_id`, e.g. a receipt) and the worker
    has the app that registered that kind render it (hospital.notifications). The first rendering
    is stored in `content`, so every retry sends the same document under the same Message-ID.
    """

    email = models.ForeignKey(OutboundEmail, on_delete=models.CASCADE, related_name="attachments")
    position = models.PositiveSmallIntegerField()
    filename = models.CharField(max_length=100)
    mimetype = models.CharField(max_length=100)
    content = models.BinaryField(blank=True, default=b"")
    rendered_kind = models.CharField(max_length=50, blank=True)
    rendered_object_id = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["email", "position"]
        constraints = [
            models.UniqueConstraint(fields=["email", "position"], name="hospital_emailattachment_position_unique"),
            models.CheckConstraint(
                condition=~Q(filename="") & ~Q(mimetype=""), name="hospital_emailattachment_named_and_typed"
            ),
            # What to render is named whole (kind and object) or not at all.
            models.CheckConstraint(
                condition=Q(rendered_kind="", rendered_object_id__isnull=True)
                | (~Q(rendered_kind="") & Q(rendered_object_id__isnull=False)),
                name="hospital_emailattachment_rendered_whole",
            ),
        ]

    def __str__(self) -> str:
        return self.filename


class PublicPagesVersion(models.Model):
    """One counter that every write the public pages show bumps (hospital/page_cache.py).

    It lives in the database, not the cache: with the local-memory cache every server process
    has its own entries, and only the database is seen by all of them at once.
    """

    number = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="hospital_public_pages_version_one_row")]

    def __str__(self) -> str:
        return f"public pages version {self.number}"


class AuditAction(models.TextChoices):
    READ = "read", "Read"
    CREATE = "create", "Created"
    UPDATE = "update", "Changed"
    SIGN = "sign", "Signed"
    DOWNLOAD = "download", "Downloaded"


class AuditEntryQuerySet(models.QuerySet):
    """The log is insert-only: no path of the app can change or remove what it recorded."""

    def update(self, **kwargs):
        raise AuditLogIsInsertOnly("Audit entries cannot be changed.")

    def delete(self):
        raise AuditLogIsInsertOnly("Audit entries cannot be deleted.")


class AuditLogIsInsertOnly(Exception):
    pass


class AuditEntry(models.Model):
    """Who read or changed medical data, when and from where (DESIGN §7).

    Written through hospital.audit.audit_record only. On PostgreSQL a trigger refuses UPDATE and
    DELETE as well (hospital.audit.install_insert_only_trigger), so not even a raw query or a
    bug in another code path can rewrite history.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="audit_entries_made"
    )
    action = models.CharField(max_length=10, choices=AuditAction.choices)
    # Whose medical data it was, so staff can answer "who has seen my records?".
    patient = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="audit_entries_about"
    )
    record_type = models.CharField(max_length=100, help_text="The model, e.g. prescriptions.prescription.")
    record_id = models.CharField(max_length=64)
    summary = models.CharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField("IP address", null=True, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        indexes = [models.Index(fields=["record_type", "record_id"]), models.Index(fields=["patient", "at"])]
        constraints = [
            models.CheckConstraint(condition=Q(action__in=AuditAction.values), name="hospital_auditentry_action_known")
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.record_type} #{self.record_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditLogIsInsertOnly("Audit entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditLogIsInsertOnly("Audit entries cannot be deleted.")


class IdempotentRequestState(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"


class IdempotentRequest(models.Model):
    """An API write sent with an `Idempotency-Key` header (hospital/api/idempotency.py): claimed
    before the write runs, then holding the response it got, which a retry with the same key and
    the same request is given back instead of a second write. Kept API_IDEMPOTENCY_HOURS."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and canonical JSON body.")
    state = models.CharField(
        max_length=10, choices=IdempotentRequestState.choices, default=IdempotentRequestState.RUNNING
    )
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="hospital_idempotentrequest_one_per_user_key"),
            models.CheckConstraint(
                condition=Q(state__in=IdempotentRequestState.values), name="hospital_idempotentrequest_state_known"
            ),
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.key} ({self.get_state_display()})"
