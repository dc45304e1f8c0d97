"""Indexes for the admin's user list at size (docs/benchmarks.md "Admin pages at size").

- PostgreSQL only: pg_trgm and a trigram GIN index on UPPER() of the searched columns, for the search by
  part of a name or e-mail (`UPPER(column) LIKE '%term%'`). SQLite has no GIN indexes; there the search
  stays a scan.
- Both databases: (tag_id, user_id) and (group_id, user_id) on the user-tag and user-group link tables, so
  the tag and role filters' subquery reads member ids from the index alone. The link tables are created by
  Django for the many-to-many fields, which cannot declare indexes, hence plain SQL.

On PostgreSQL every index is built CONCURRENTLY, as docs/deployment.md asks of new indexes on big tables:
the trigram index took 2.4 s for 50,000 users here, and a plain build blocks writes to the table meanwhile.
That needs a migration outside a transaction (atomic = False).
"""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.operations import AddIndexConcurrently, TrigramExtension
from django.db import migrations
from django.db.models.functions import Upper

LINK_INDEXES = [
    ("accounts_user_tags_tag_user", "accounts_user_tags", "tag_id, user_id"),
    ("accounts_user_groups_group_user", "accounts_user_groups", "group_id, user_id"),
]


class AddIndexConcurrentlyOnPostgreSQL(AddIndexConcurrently):
    """The index exists on PostgreSQL only (the model state has it on every database)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def create_link_indexes(apps, schema_editor):  # type: ignore[no-untyped-def]
    concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    for name, table, columns in LINK_INDEXES:
        schema_editor.execute(f"CREATE INDEX{concurrently} {name} ON {table} ({columns})")


def drop_link_indexes(apps, schema_editor):  # type: ignore[no-untyped-def]
    concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    for name, _table, _columns in LINK_INDEXES:
        schema_editor.execute(f"DROP INDEX{concurrently} {name}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("accounts", "0008_tagsubscription"),
    ]

    operations = [
        TrigramExtension(),  # a no-op on SQLite; a trusted extension on PostgreSQL 13+
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="user",
            index=GinIndex(
                OpClass(Upper("username"), name="gin_trgm_ops"),
                OpClass(Upper("email"), name="gin_trgm_ops"),
                OpClass(Upper("first_name"), name="gin_trgm_ops"),
                OpClass(Upper("last_name"), name="gin_trgm_ops"),
                name="accounts_user_search_trgm",
            ),
        ),
        migrations.RunPython(create_link_indexes, drop_link_indexes),
    ]
