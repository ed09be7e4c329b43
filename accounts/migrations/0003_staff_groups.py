"""The staff groups (accounts.models.StaffGroup). Their permissions are set after every migrate
by accounts.staff_groups, once every app's permissions exist."""

from django.db import migrations

# As the names stood when this migration was written: a migration never follows later renames.
STAFF_GROUPS = ["Front desk", "Billing", "Clinical records", "Administrator"]


def create_staff_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in STAFF_GROUPS:
        Group.objects.using(schema_editor.connection.alias).get_or_create(name=name)


def remove_staff_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name__in=STAFF_GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_patientprofile_timezone"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_staff_groups, remove_staff_groups)]
