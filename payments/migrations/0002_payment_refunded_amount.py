from django.db import migrations, models
from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce


def fill_refunded_amount(apps, schema_editor):
    """The sum the old property computed: this payment's own charge's refunds that return money."""
    Payment = apps.get_model("payments", "Payment")
    Refund = apps.get_model("payments", "Refund")
    returned = (
        Refund.objects.filter(
            payment=OuterRef("pk"),
            payment_intent_id=OuterRef("payment_intent_id"),
            status__in=["pending", "succeeded"],
        )
        .values("payment")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    Payment.objects.update(refunded_amount=Coalesce(Subquery(returned), 0))


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="payment",
            name="refunded_amount",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(fill_refunded_amount, migrations.RunPython.noop),
    ]
