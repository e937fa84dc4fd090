"""Ordered schema migrations (`NNNN_name.py`, each with `up(db)` and `down(db)`) and their runner.

Applied migrations are recorded by name in `pledgebox_migrations`; each runs in one transaction,
so a failure leaves the schema as it was.
"""

import importlib
import pkgutil
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

from peewee import CharField, Database, Model, PostgresqlDatabase


def _record_model(db: Database) -> type[Model]:
    class AppliedMigration(Model):
        name = CharField(primary_key=True, max_length=128)

        class Meta:
            database = db
            table_name = "pledgebox_migrations"

    return AppliedMigration


def available() -> list[ModuleType]:
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name[:4].isdigit())
    return [importlib.import_module(f"{__name__}.{name}") for name in names]


def applied(db: Database) -> set[str]:
    record = _record_model(db)
    if not db.table_exists(record._meta.table_name):
        return set()
    return {row.name for row in record.select()}


def pending(db: Database) -> list[str]:
    done = applied(db)
    return [m.__name__.rsplit(".", 1)[1] for m in available() if m.__name__.rsplit(".", 1)[1] not in done]


# pg_advisory_lock's key for "migrations are being applied" (any fixed 64-bit number).
_PG_LOCK = 0x706C656467650001


@contextmanager
def _one_at_a_time(db: Database) -> Iterator[None]:
    """Servers sharing a PostgreSQL database start together (compose's `scale`, many boxes) and
    each upgrades at start: a session lock makes them take turns, so each migration runs once.
    SQLite's own write lock does this for servers sharing a file."""
    if not isinstance(db, PostgresqlDatabase):
        yield
        return
    db.execute_sql("SELECT pg_advisory_lock(%s)", (_PG_LOCK,))
    try:
        yield
    finally:
        db.execute_sql("SELECT pg_advisory_unlock(%s)", (_PG_LOCK,))


def upgrade(db: Database, until: str | None = None) -> list[str]:
    """Apply every pending migration in order (up to and including `until`); return their names."""
    record = _record_model(db)
    with _one_at_a_time(db):
        db.create_tables([record], safe=True)
        done = applied(db)
        ran = []
        for module in available():
            name = module.__name__.rsplit(".", 1)[1]
            if name not in done:
                with db.atomic():
                    module.up(db)
                    record.create(name=name)
                ran.append(name)
            if name == until:
                break
    return ran


def downgrade_last(db: Database) -> str | None:
    record = _record_model(db)
    done = sorted(applied(db))
    if not done:
        return None
    module = importlib.import_module(f"{__name__}.{done[-1]}")
    with db.atomic():
        module.down(db)
        record.delete().where(record.name == done[-1]).execute()
    return done[-1]
