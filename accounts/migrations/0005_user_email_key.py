"""E-mail identity on one normalised key computed in Python (accounts.identity.email_key), replacing the
database's LOWER(email) uniqueness, which folds Unicode differently on SQLite and PostgreSQL."""

from django.db import migrations, models


def fill_email_keys(apps, schema_editor):
    from accounts.identity import email_key

    User = apps.get_model("accounts", "User")
    seen = set()
    for user in User.objects.order_by("pk").only("pk", "email").iterator():
        key = email_key(user.email or "")
        if key in seen:
            key = None  # cannot happen under the old rule (a looser one); kept safe: the first keeps it
        if key:
            seen.add(key)
        User.objects.filter(pk=user.pk).update(email_key=key)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_fieldmapping_options")]

    operations = [
        migrations.AddField(
            model_name="user",
            name="email_key",
            field=models.CharField(blank=True, editable=False, max_length=254, null=True),
        ),
        migrations.RunPython(fill_email_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="user",
            name="email_key",
            field=models.CharField(blank=True, editable=False, max_length=254, null=True, unique=True),
        ),
        migrations.RemoveConstraint(model_name="user", name="accounts_user_email_ci_unique"),
        migrations.AlterModelOptions(
            name="user", options={"verbose_name": "user", "verbose_name_plural": "users"}
        ),
    ]
