"""0003: which invite a pending organizer joined with, and their binding to it (issue 13, finding 1).

Two nullable columns on organizer: the invite token's hash and the newcomer's MAC over their keys,
so the inviting admin's tool can check the role it recorded for that invite before approving.
Organizers who joined before this have neither; their approval then needs an explicit role.
"""

from peewee import BlobField, CharField, Database, Model

COLUMNS = ("invite_hash", "invite_binding")


def _organizer(db: Database) -> type[Model]:
    class Organizer(Model):  # the frozen part of the model this migration touches
        id = CharField(primary_key=True, max_length=64)
        invite_hash = BlobField(null=True)
        invite_binding = BlobField(null=True)

        class Meta:
            database = db
            table_name = "organizer"

    return Organizer


def up(db: Database) -> None:
    organizer = _organizer(db)
    for name in COLUMNS:
        ctx = db.get_sql_context()  # a context accumulates what it renders: one per column
        sql, params = ctx.sql(organizer._meta.fields[name].ddl(ctx)).query()
        db.execute_sql(f'ALTER TABLE "organizer" ADD COLUMN {sql}', params)


def down(db: Database) -> None:
    for name in COLUMNS:
        db.execute_sql(f'ALTER TABLE "organizer" DROP COLUMN "{name}"')
