"""Replaying failed webhook deliveries from the admin: each trigger in its own transaction, once
its cause is fixed, with the outcome of each told; dj-stripe's records stay read-only."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from djstripe.models import WebhookEventTrigger

from accounts.models import StaffGroup
from hospital.models import OutboundEmail
from payments import services
from payments.models import Dispute
from tests.factories import StaffFactory
from tests.payments import handmade
from tests.payments.stripe_events import post_event

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_endpoint")]
TRIGGERS = "/admin/djstripe/webhookeventtrigger/"


def staff_client(group: StaffGroup, email: str) -> Client:
    user = StaffFactory(is_superuser=False, email=email)
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client


def test_failed_deliveries_replay_one_by_one_once_the_cause_is_fixed(standin, client, monkeypatch):
    billing = staff_client(StaffGroup.BILLING, "billing@example.com")
    flow = handmade.paid_flow(standin, client)
    fixed, still_broken = handmade.dispute(flow), handmade.dispute(flow, amount=1000)
    record_dispute = services.dispute_record
    broken_ids = {fixed["id"], still_broken["id"]}

    def database_hiccup(*, dispute, **kwargs):
        if dispute["id"] in broken_ids:
            raise RuntimeError("the database went away")
        return record_dispute(dispute=dispute, **kwargs)

    monkeypatch.setattr(services, "dispute_record", database_hiccup)
    stripe_side = Client(raise_request_exception=False)
    for dispute in (fixed, still_broken):
        assert post_event(stripe_side, handmade.event("charge.dispute.created", dispute)).status_code == 500
    failed = list(WebhookEventTrigger.objects.filter(processed=False).order_by("pk"))
    assert len(failed) == 2 and all("the database went away" in trigger.exception for trigger in failed)
    assert not Dispute.objects.exists()

    broken_ids.discard(fixed["id"])  # the cause of the first is fixed
    response = billing.post(TRIGGERS, {"action": "replay", "_selected_action": [t.pk for t in failed]}, follow=True)

    page = response.content.decode()
    assert f"Trigger #{failed[0].pk} (" in page and "replayed." in page
    assert f"Trigger #{failed[1].pk} (" in page and "failed again: the database went away" in page
    assert list(Dispute.objects.values_list("stripe_dispute_id", flat=True)) == [fixed["id"]]
    first, second = (WebhookEventTrigger.objects.get(pk=t.pk) for t in failed)
    assert (first.processed, first.exception) == (True, "")
    assert (second.processed, "the database went away" in second.exception) == (False, True)
    assert OutboundEmail.objects.filter(key__startswith=f"dispute-opened:{fixed['id']}").count() == 1

    again = billing.post(TRIGGERS, {"action": "replay", "_selected_action": [first.pk]}, follow=True)
    assert "was already processed: skipped." in again.content.decode()
    assert OutboundEmail.objects.filter(key__startswith=f"dispute-opened:{fixed['id']}").count() == 1


def test_front_desk_cannot_replay_and_the_triggers_stay_read_only(standin, client):
    desk = staff_client(StaffGroup.FRONT_DESK, "desk@example.com")
    administrator = staff_client(StaffGroup.ADMINISTRATOR, "admin@example.com")
    handmade.paid_flow(standin, client)
    trigger = WebhookEventTrigger.objects.first()

    assert desk.get(TRIGGERS).status_code == 403
    listing = administrator.get(TRIGGERS).content.decode()
    assert "Replay the selected failed webhook deliveries" in listing
    assert '<option value="delete_selected">' not in listing
    assert administrator.get(f"{TRIGGERS}{trigger.pk}/change/").status_code == 200
    assert administrator.post(f"{TRIGGERS}{trigger.pk}/change/", {"processed": False}).status_code == 403
    assert administrator.get(f"{TRIGGERS}add/").status_code == 403
