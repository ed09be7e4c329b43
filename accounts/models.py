from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from knox.models import AbstractAuthToken, AuthTokenManager

from accounts.timezones import validate_timezone_name


def normalize_email_address(email: str) -> str:
    """E-mail is the log-in: one person, one account, whatever the letter case they type."""
    return email.strip().lower()


class Role(models.TextChoices):
    PATIENT = "patient", "Patient"
    DOCTOR = "doctor", "Doctor"
    STAFF = "staff", "Staff"


class StaffGroup(models.TextChoices):
    """What a staff member does, as a Django group (created by accounts' migration): the admin
    shows each group only what it needs. Billing never reads clinical notes; front desk never sees
    money beyond a payment's status."""

    FRONT_DESK = "Front desk"
    BILLING = "Billing"
    CLINICAL_RECORDS = "Clinical records"
    ADMINISTRATOR = "Administrator"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=normalize_email_address(email), **extra_fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.update(role=Role.STAFF, is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("e-mail address", unique=True)
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    phone = models.CharField(max_length=32, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PATIENT)
    is_staff = models.BooleanField(
        "admin access",
        default=False,
        help_text="Staff accounts sign in to the admin site; set together with the staff role.",
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # Part of the hash every request's session is checked against: one more ends all of this
    # user's sessions at once (accounts.services.user_sessions_end).
    session_epoch = models.PositiveIntegerField(default=0, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["first_name", "last_name"]

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            # Admin access and the staff role travel together, so no doctor or patient can
            # reach the admin by a stray checkbox, and no staff member is locked out of it.
            models.CheckConstraint(
                condition=models.Q(role=Role.STAFF, is_staff=True)
                | (~models.Q(role=Role.STAFF) & models.Q(is_staff=False)),
                name="accounts_user_staff_role_matches_is_staff",
            ),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="accounts_user_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_full_name()} <{self.email}>"

    def clean(self):
        super().clean()
        self.email = normalize_email_address(self.email)
        self.is_staff = self.role == Role.STAFF

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def _get_session_auth_hash(self, secret=None) -> str:
        """Django's HMAC of the password, which a session stores at log-in and each request's
        session must match (a new password ends the others), with the session epoch mixed in
        once it moved. Epoch 0 keeps Django's own hash: sessions made before this field existed
        stay valid. Django's get_session_auth_hash and its SECRET_KEY_FALLBACKS variant both call
        this method."""
        password_hash = super()._get_session_auth_hash(secret=secret)
        if not self.session_epoch:
            return password_hash
        return salted_hmac(
            "accounts.User.session_epoch", f"{password_hash}:{self.session_epoch}", secret=secret, algorithm="sha256"
        ).hexdigest()

    def save(self, *args, **kwargs):
        """A full save leaves session_epoch alone: an instance read before a log-out elsewhere
        moved it (the admin's change form, another request's copy) must not put the old epoch back
        and revive the sessions it ended. Only user_sessions_end writes it, with an F() update."""
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name != "session_epoch"
            ]
        super().save(*args, **kwargs)

    def get_short_name(self) -> str:
        return self.first_name

    @property
    def is_patient(self) -> bool:
        return self.role == Role.PATIENT

    @property
    def is_doctor(self) -> bool:
        return self.role == Role.DOCTOR

    def in_staff_group(self, *groups: StaffGroup) -> bool:
        """A staff member in any of `groups`; superusers count as in every group."""
        if self.role != Role.STAFF or not self.is_active:
            return False
        if self.is_superuser:
            return True
        if not hasattr(self, "_staff_group_names"):
            self._staff_group_names = set(self.groups.values_list("name", flat=True))
        return not self._staff_group_names.isdisjoint(groups)


def hospital_time_zone() -> str:
    return settings.HOSPITAL_TIME_ZONE


class PatientProfile(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="patient_profile")
    date_of_birth = models.DateField()
    # Visits are shown in the doctor's zone; where this one differs, the patient's time beside it.
    # No `choices`, as for the doctor's zone: the tz database differs between machines.
    timezone = models.CharField(
        "time zone",
        max_length=64,
        default=hospital_time_zone,
        validators=[validate_timezone_name],
        help_text="IANA name, e.g. Europe/London.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(date_of_birth__gt="1900-01-01"),
                name="accounts_patientprofile_dob_plausible",
            ),
            models.CheckConstraint(condition=~models.Q(timezone=""), name="accounts_patientprofile_timezone_set"),
        ]

    def __str__(self) -> str:
        return f"Patient profile of {self.user.get_full_name()}"


class ApiTokenQuerySet(models.QuerySet):
    def live(self):
        return self.filter(models.Q(expiry__isnull=True) | models.Q(expiry__gt=timezone.now()))


class ApiToken(AbstractAuthToken):
    """A key for an API client (a phone app, a partner's system) that its user named, and can
    see and revoke on their profile page. knox stores only its hash; it expires."""

    objects = AuthTokenManager.from_queryset(ApiTokenQuerySet)()

    name = models.CharField(max_length=80, help_text="Which app or device uses it.")
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = "API token"
        constraints = [models.CheckConstraint(condition=~models.Q(name=""), name="accounts_apitoken_named")]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_key}…)"
