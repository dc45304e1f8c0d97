from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("benchsite", "0002_floor_shaped_like_delivery"),
    ]

    operations = [
        migrations.AddField(
            model_name="floorrecord",
            name="started_by_id",
            field=models.BigIntegerField(blank=True, db_index=True, null=True),
        ),
    ]
