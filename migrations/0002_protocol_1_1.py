"""0002: protocol 1.1. Campaigns' time zone and the instants their dates end there, announcements'
last day, and the latest published tally per campaign. Frozen copies of the changed models.

SQLite cannot add a NOT NULL column without a constant default, so the new campaign columns carry
one (UTC; 0 = not live, which fails closed) in the models too; existing campaigns are version 1,
read in UTC, and get their instants from their dates here.
"""

from datetime import UTC, date, datetime, time, timedelta

from peewee import (
    SQL,
    BigIntegerField,
    BlobField,
    CharField,
    Database,
    DateField,
    ForeignKeyField,
    Model,
)


def _models(db: Database) -> tuple[type[Model], type[Model], type[Model]]:
    class BaseModel(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Campaign(BaseModel):
        id = CharField(primary_key=True, max_length=64)
        closes_at = DateField()
        delete_after = DateField(index=True)
        time_zone = CharField(max_length=64, constraints=[SQL("DEFAULT 'UTC'")])
        open_until = BigIntegerField(constraints=[SQL("DEFAULT 0")])
        live_until = BigIntegerField(index=True, constraints=[SQL("DEFAULT 0")])

    class Announcement(BaseModel):
        id = CharField(primary_key=True, max_length=64)
        gone_at = BigIntegerField(null=True, index=True)

    class Tally(BaseModel):
        campaign = ForeignKeyField(Campaign, primary_key=True, on_delete="CASCADE")
        day = DateField()
        body = BlobField()
        signature = BlobField()

    return Campaign, Announcement, Tally


NEW_COLUMNS = {"campaign": ("time_zone", "open_until", "live_until"), "announcement": ("gone_at",)}


def _add_column(db: Database, model: type[Model], name: str) -> None:
    ctx = db.get_sql_context()
    sql, params = ctx.sql(model._meta.fields[name].ddl(ctx)).query()
    db.execute_sql(f'ALTER TABLE "{model._meta.table_name}" ADD COLUMN {sql}', params)


def _utc_end(value: date | str) -> int:
    day = value if isinstance(value, date) else date.fromisoformat(value)
    return int(datetime.combine(day + timedelta(days=1), time.min, UTC).timestamp())


def up(db: Database) -> None:
    campaign, announcement, tally = _models(db)
    for model in (campaign, announcement):
        for name in NEW_COLUMNS[model._meta.table_name]:
            _add_column(db, model, name)
        model._schema.create_indexes(safe=True)
    rows = db.execute_sql("SELECT id, closes_at, delete_after FROM campaign").fetchall()
    for campaign_id, closes, delete in rows:
        campaign.update(open_until=_utc_end(closes), live_until=_utc_end(delete)).where(
            campaign.id == campaign_id).execute()
    db.create_tables([tally])


def down(db: Database) -> None:
    """Both backends drop columns natively (SQLite from 3.35, once their index is gone)."""
    campaign, announcement, tally = _models(db)
    db.drop_tables([tally])
    for model in (campaign, announcement):
        for name in NEW_COLUMNS[model._meta.table_name]:
            if model._meta.fields[name].index:
                db.execute_sql(f'DROP INDEX "{model._meta.table_name}_{name}"')
            db.execute_sql(f'ALTER TABLE "{model._meta.table_name}" DROP COLUMN "{name}"')
