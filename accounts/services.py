import datetime

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import PatientProfile, Role, User, normalize_email_address

EMAIL_TAKEN_MESSAGE = "An account with this e-mail address already exists. Log in or reset your password."


@transaction.atomic
def patient_register(
    *,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    date_of_birth: datetime.date,
    phone: str = "",
) -> User:
    """Create a patient account and its profile, or change nothing and say what is wrong."""
    email = normalize_email_address(email)
    user = User(email=email, first_name=first_name, last_name=last_name, phone=phone, role=Role.PATIENT)
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": EMAIL_TAKEN_MESSAGE})
    try:
        validate_password(password, user=user)
    except ValidationError as error:
        raise ValidationError({"password1": error.messages}) from error
    user.set_password(password)
    try:
        # A savepoint, so a racing sign-up with the same address fails cleanly here.
        with transaction.atomic():
            user.save()
    except IntegrityError as error:
        raise ValidationError({"email": EMAIL_TAKEN_MESSAGE}) from error
    PatientProfile.objects.create(user=user, date_of_birth=date_of_birth)
    return user


@transaction.atomic
def user_profile_update(
    *,
    user: User,
    first_name: str,
    last_name: str,
    phone: str,
    date_of_birth: datetime.date | None = None,
) -> User:
    user.first_name = first_name
    user.last_name = last_name
    user.phone = phone
    user.save(update_fields=["first_name", "last_name", "phone"])
    if user.is_patient and date_of_birth is not None:
        PatientProfile.objects.update_or_create(user=user, defaults={"date_of_birth": date_of_birth})
    return user
