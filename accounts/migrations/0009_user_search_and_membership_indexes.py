"""Indexes for the admin's user list at size (issue 11, docs/benchmarks.md "Admin pages at size").

- PostgreSQL only: pg_trgm and a trigram GIN index on UPPER() of the searched columns, for the search by
  part of a name or e-mail (`UPPER(column) LIKE '%term%'`). SQLite has no GIN indexes; there the search
  stays a scan (about as fast as PostgreSQL's index at this size, measured).
- Both databases: (tag_id, user_id) and (group_id, user_id) on the user-tag and user-group link tables, so
  the tag and role filters' subquery reads member ids from the index alone. The link tables are created by
  Django for the many-to-many fields, which cannot declare indexes, hence plain SQL.
"""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations
from django.db.models.functions import Upper


class AddIndexOnPostgreSQL(migrations.AddIndex):
    """AddIndex whose index exists on PostgreSQL only (the model state has it on every database)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_tagsubscription"),
    ]

    operations = [
        TrigramExtension(),  # a no-op on SQLite; a trusted extension on PostgreSQL 13+
        AddIndexOnPostgreSQL(
            model_name="user",
            index=GinIndex(
                OpClass(Upper("username"), name="gin_trgm_ops"),
                OpClass(Upper("email"), name="gin_trgm_ops"),
                OpClass(Upper("first_name"), name="gin_trgm_ops"),
                OpClass(Upper("last_name"), name="gin_trgm_ops"),
                name="accounts_user_search_trgm",
            ),
        ),
        migrations.RunSQL(
            "CREATE INDEX accounts_user_tags_tag_user ON accounts_user_tags (tag_id, user_id)",
            "DROP INDEX accounts_user_tags_tag_user",
        ),
        migrations.RunSQL(
            "CREATE INDEX accounts_user_groups_group_user ON accounts_user_groups (group_id, user_id)",
            "DROP INDEX accounts_user_groups_group_user",
        ),
    ]
