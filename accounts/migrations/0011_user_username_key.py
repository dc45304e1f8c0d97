"""Usernames "taken" on one key computed in Python (accounts.identity.username_key), not the database's
LOWER(username), which folds ASCII only on SQLite (`émile` was created beside `Émile` there)."""

from django.db import migrations, models


def fill_username_keys(apps, schema_editor):
    from accounts.identity import username_key

    User = apps.get_model("accounts", "User")
    for user in User.objects.order_by("pk").only("pk", "username").iterator():
        User.objects.filter(pk=user.pk).update(username_key=username_key(user.username or ""))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0010_tagsubscription_created_by")]

    operations = [
        migrations.AddField(
            model_name="user",
            name="username_key",
            # Nullable, so SQLite adds the column in place: a rebuilt table would recreate the users'
            # PostgreSQL-only trigram index (migration 0009) there.
            field=models.CharField(blank=True, db_index=True, editable=False, max_length=600, null=True),
        ),
        migrations.RunPython(fill_username_keys, migrations.RunPython.noop),
    ]
