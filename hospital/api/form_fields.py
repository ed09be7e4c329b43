"""API input fields made from the page's own form fields, so the API and the page take one limit, one
required-ness and one message: `from_form(BookingForm.base_fields["reason"])`.

The form field's validators themselves (Django's MaxLengthValidator, MinValueValidator, ...) become
the serializer field's: a 400 then reads exactly as the page's error, and the schema still shows
maxLength, minimum and maximum (drf-spectacular reads them from the validators).
"""

from django import forms
from django.core import validators as django_validators
from rest_framework import serializers

# The serializer field adds these itself; taken twice, a bad value would be told twice.
_ADDED_BY_DRF = (django_validators.ProhibitNullCharactersValidator,)


def _validators(form_field: forms.Field) -> list:
    return [v for v in form_field.validators if not isinstance(v, _ADDED_BY_DRF)]


def _common(form_field: forms.Field, kwargs: dict) -> dict:
    # A default is what an omitted value becomes: such a field is not required of the caller.
    required = form_field.required and "default" not in kwargs
    common = {"required": required, "validators": _validators(form_field)}
    if form_field.help_text:
        common["help_text"] = str(form_field.help_text)
    messages = {"required": form_field.error_messages["required"], "null": form_field.error_messages["required"]}
    if "invalid" in form_field.error_messages:
        messages["invalid"] = form_field.error_messages["invalid"]
    # Django's own reads "%(value)s" (DRF's its "{input}"); one without it is the page's, written for people.
    chosen_badly = str(form_field.error_messages.get("invalid_choice", "%("))
    if "%(" not in chosen_badly:
        messages["invalid_choice"] = chosen_badly
    common["error_messages"] = messages
    return {**common, **kwargs}


def from_form(form_field: forms.Field, **kwargs) -> serializers.Field:
    """The serializer field reading as `form_field` does (a CharField, IntegerField or ChoiceField of a
    page's form); `kwargs` add what only the API says (a help text, a default) or override."""
    if isinstance(form_field, forms.ChoiceField):
        options = _common(form_field, kwargs)
        choices = [(value, label) for value, label in form_field.choices if value != ""]
        if not options["required"]:
            options.setdefault("default", form_field.initial if form_field.initial is not None else "")
        return serializers.ChoiceField(choices=choices, **options)
    if isinstance(form_field, forms.IntegerField):
        return serializers.IntegerField(**_common(form_field, kwargs))
    if isinstance(form_field, forms.CharField):
        options = _common(form_field, kwargs)
        options["error_messages"]["blank"] = form_field.error_messages["required"]
        options.setdefault("trim_whitespace", form_field.strip)
        options.setdefault("allow_blank", not form_field.required)
        if not options["required"] and "required" not in kwargs:  # `required=False` alone: omitted stays omitted
            options.setdefault("default", form_field.empty_value)
        return serializers.CharField(**options)
    raise TypeError(f"No API field is made from a {type(form_field).__name__} yet.")


def form_errors(form: forms.BaseForm) -> dict[str, list[str]]:
    """A bound page form's errors by unprefixed field name, as a serializer's ValidationError takes them."""
    return {name: [str(message) for message in messages] for name, messages in form.errors.items()}


def bound_form(form_class: type[forms.BaseForm], data: dict, **kwargs) -> forms.BaseForm:
    """`form_class` bound to `data` (named without the form's prefix, as the API names them)."""
    prefix = form_class.prefix if kwargs.get("prefix") is None else kwargs["prefix"]
    named = {f"{prefix}-{name}" if prefix else name: value for name, value in data.items()}
    return form_class(named, **kwargs)
