"""The admin as hospital staff see it: our sections first, dj-stripe's records last and read-only."""

import re

import pytest
from django.contrib import admin
from django.urls import resolve, reverse
from djstripe.models import Event, WebhookEventTrigger

pytestmark = pytest.mark.django_db

STRIPE_RECORDS = "Stripe records (synced, read-only)"
DJSTRIPE_MODELS = sorted(
    model._meta.model_name for model in admin.site._registry if model._meta.app_label == "djstripe"
)


@pytest.fixture
def webhook_records(webhook_endpoint):
    event = Event.objects.create(
        id="evt_admin_test",
        type="charge.refunded",
        data={"object": {"id": "ch_admin_test", "object": "charge"}},
        livemode=False,
    )
    trigger = WebhookEventTrigger.objects.create(
        remote_ip="127.0.0.1", headers={}, body="{}", valid=True, processed=True, event=event,
        webhook_endpoint=webhook_endpoint,
    )  # fmt: skip
    return {"event": event, "webhookeventtrigger": trigger, "webhookendpoint": webhook_endpoint}


def test_our_sections_come_first_and_stripe_records_last(staff_client):
    apps = staff_client.get(reverse("admin:index")).context["app_list"]

    labels = [app["app_label"] for app in apps]
    assert labels[:5] == ["hospital", "appointments", "payments", "prescriptions", "accounts"]
    assert labels[-1] == "djstripe"
    assert apps[-1]["name"] == STRIPE_RECORDS
    assert labels[5:-1] == sorted(labels[5:-1], key=lambda label: apps[labels.index(label)]["name"].lower())


def test_the_index_offers_no_add_or_change_link_for_stripe_records(staff_client):
    page = staff_client.get(reverse("admin:index")).text

    assert STRIPE_RECORDS in page
    assert not re.search(r'href="/admin/djstripe/\w+/add/"', page)
    assert 'href="/admin/hospital/doctor/add/"' in page  # our own sections keep theirs
    stripe_section = next(a for a in staff_client.get("/admin/").context["app_list"] if a["app_label"] == "djstripe")
    assert {(m["add_url"], m["perms"]["view"], m["perms"]["change"]) for m in stripe_section["models"]} == {
        (None, True, False)
    }


@pytest.mark.parametrize("model_name", DJSTRIPE_MODELS)
def test_every_stripe_record_list_is_readable_and_cannot_be_added_to(staff_client, model_name):
    changelist = reverse(f"admin:djstripe_{model_name}_changelist")

    assert staff_client.get(changelist).status_code == 200
    assert staff_client.get(reverse(f"admin:djstripe_{model_name}_add")).status_code == 403


@pytest.mark.parametrize("model_name", ["webhookeventtrigger", "event", "webhookendpoint"])
def test_webhook_records_are_never_deleted_or_changed(staff_client, webhook_records, model_name):
    record = webhook_records[model_name]
    model = type(record)
    change = reverse(f"admin:djstripe_{model_name}_change", args=[record.pk])
    delete = reverse(f"admin:djstripe_{model_name}_delete", args=[record.pk])

    listing = staff_client.get(reverse(f"admin:djstripe_{model_name}_changelist")).text
    assert staff_client.get(change).status_code == 200
    assert staff_client.get(delete).status_code == 403
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    assert staff_client.post(change, {}).status_code == 403
    bulk = staff_client.post(
        reverse(f"admin:djstripe_{model_name}_changelist"),
        {"action": "delete_selected", "_selected_action": [record.pk], "post": "yes"},
    )
    assert 'value="delete_selected"' not in listing
    assert bulk.status_code in (200, 302)
    assert model.objects.filter(pk=record.pk).exists()


def test_stripe_records_offer_no_sync_actions_that_write(staff_client, webhook_records):
    listing = staff_client.get(reverse("admin:djstripe_webhookendpoint_changelist")).text
    sync_all = "/admin/djstripe/webhookendpoint/action/_sync_all_instances/webhookendpoint/"

    assert "_resync_instances" not in listing
    assert resolve(sync_all).url_name != "djstripe_custom_action"  # dj-stripe's page that runs them is gone


@pytest.mark.parametrize(
    ("changelist", "titles"),
    [
        ("admin:appointments_appointment_changelist", ["appointment status", "payment status"]),
        ("admin:payments_payment_changelist", ["payment status", "visit date", "payment date", "currency"]),
        ("admin:payments_refund_changelist", ["follow-up", "refund status", "reason"]),
        ("admin:hospital_outboundemail_changelist", ["delivery status"]),
    ],
)
def test_status_filters_say_whose_status_they_filter(staff_client, changelist, titles):
    response = staff_client.get(reverse(changelist))

    assert [spec.title for spec in response.context["cl"].filter_specs][: len(titles)] == titles
    assert not re.search(r"By\s+status\s*<", response.text)
