"""The schema migrations build is the schema server/models.py describes, on SQLite and PostgreSQL;
and every SQLite connection, from every code path, runs with the durability and deletion pragmas.
"""

import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import peewee
import pytest
from peewee import Database, PostgresqlDatabase, SqliteDatabase

import migrations
from server import cli, create_app
from server.config import Config
from server.db import SQLITE_PRAGMAS, bind, database, open_database
from server.models import ALL_MODELS
from server.retention import start_background_purge
from tests.conftest import postgres_database

BACKENDS = pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
RECORD_TABLE = "pledgebox_migrations"
ALL_MIGRATIONS = [m.__name__.rsplit(".", 1)[1] for m in migrations.available()]
STUDENT_TABLES = {"pledge", "announcement", "campaign"}


@pytest.fixture
def second_db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A second, empty database of the same kind, for the models' own create_tables."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'from-models.sqlite3'}"
        return
    with postgres_database() as url:
        yield url


def _on_delete(db: Database, table: str) -> set[tuple[str, str, str, str]]:
    if isinstance(db, SqliteDatabase):
        rows = db.execute_sql(f"PRAGMA foreign_key_list('{table}')").fetchall()
        return {(r[3], r[2], r[4], r[6].upper()) for r in rows}  # from, table, to, on_delete
    rows = db.execute_sql("""
        SELECT kcu.column_name, ccu.table_name, ccu.column_name, rc.delete_rule
        FROM information_schema.referential_constraints rc
        JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = rc.constraint_name
        JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = rc.constraint_name
        WHERE kcu.table_name = %s""", (table,)).fetchall()
    return {(r[0], r[1], r[2], r[3].upper()) for r in rows}


def schema(db: Database) -> dict[str, Any]:
    """Tables, columns (type, null, pk), primary keys, indexes and foreign keys, by introspection."""
    out: dict[str, Any] = {}
    for table in sorted(t for t in db.get_tables() if t != RECORD_TABLE):
        columns = sorted((c.name, c.data_type.lower(), c.null, c.primary_key, c.default)
                         for c in db.get_columns(table))
        indexes = sorted((tuple(i.columns), i.unique) for i in db.get_indexes(table)
                         if not i.name.endswith("_pkey") and not i.name.startswith("sqlite_autoindex"))
        out[table] = {"columns": columns, "primary_key": db.get_primary_keys(table),
                      "indexes": indexes, "foreign_keys": sorted(_on_delete(db, table))}
    return out


@BACKENDS
def test_migrated_schema_equals_the_models(db_url: str, second_db_url: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    migrated, modelled = bind(db_url), open_database(second_db_url)
    if isinstance(modelled, PostgresqlDatabase):
        # WITHOUT ROWID is a SQLite table option (PostgreSQL has no rowid to hide); the models
        # declare it for SQLite, and PostgreSQL would refuse the clause.
        for model in ALL_MODELS:
            monkeypatch.setattr(model._meta, "without_rowid", False)
    try:
        with migrated.connection_context():
            assert migrations.upgrade(migrated) == ALL_MIGRATIONS
            assert migrations.pending(migrated) == []
            from_migrations = schema(migrated)
        with modelled.connection_context(), modelled.bind_ctx(ALL_MODELS):
            modelled.create_tables(ALL_MODELS)
            from_models = schema(modelled)
    finally:
        migrated.close()
        modelled.close()
    assert set(from_models) == {m._meta.table_name for m in ALL_MODELS}
    # and the comparison sees what matters: keys and the index on delete_after are there
    assert from_models["pledge"]["primary_key"] == ["id"]
    assert from_models["encryption_key"]["primary_key"] == ["coalition_id", "version"]
    assert ((("delete_after",), False)) in from_models["campaign"]["indexes"]
    assert ("campaign_id", "campaign", "id", "CASCADE") in from_models["pledge"]["foreign_keys"]
    if isinstance(modelled, SqliteDatabase):
        # Migration 0009 gives each campaign's pledges a table of their own on SQLite
        # (server/store/partitions.py), made with the campaign: there is no `pledge` table, and
        # a campaign's table has the modelled columns and key (test_0009_… checks them).
        assert "pledge" not in from_migrations
        from_models.pop("pledge")
    if isinstance(modelled, PostgresqlDatabase):
        # Migration 0007 partitions pledges by campaign (docs/deletion.md): a partitioned table's
        # key must hold the partition column, the purge ties a partition's life to its campaign
        # instead of a foreign key, and an index on campaign_id would hold one value per
        # partition. Exactly these differ; the columns are the models'.
        partitioned, modelled_pledge = from_migrations.pop("pledge"), from_models.pop("pledge")
        assert partitioned["primary_key"] == ["id", "campaign_id"]
        assert partitioned["foreign_keys"] == []
        assert partitioned["indexes"] == []
        assert ([c[:3] + c[4:] for c in partitioned["columns"]]
                == [c[:3] + c[4:] for c in modelled_pledge["columns"]])
    assert from_migrations == from_models


@BACKENDS
def test_upgrade_is_idempotent_and_downgrade_removes_everything(db_url: str) -> None:
    db = bind(db_url)
    try:
        with db.connection_context():
            migrations.upgrade(db)
            assert migrations.upgrade(db) == []
            for name in reversed(ALL_MIGRATIONS):
                assert migrations.downgrade_last(db) == name
            assert set(db.get_tables()) == {RECORD_TABLE}
            assert migrations.pending(db) == ALL_MIGRATIONS
            migrations.upgrade(db)
            assert migrations.pending(db) == []
    finally:
        db.close()


@BACKENDS
def test_upgrading_to_1_1_keeps_version_1_campaigns_live_to_the_end_of_their_utc_day(
        db_url: str) -> None:
    """A database with v1 data, upgraded: its campaigns read in UTC as before, nothing lost."""
    db = bind(db_url)
    q = db.param
    try:
        with db.connection_context():
            assert migrations.upgrade(db, until="0001_initial") == ["0001_initial"]
            db.execute_sql(f"INSERT INTO coalition VALUES ({q}, 'C', {q}, '2027-01-01')",
                           ("co", bytes(32)))
            db.execute_sql(f"INSERT INTO campaign VALUES ({q}, {q}, {q}, {q}, '2027-02-26', "
                           "'2027-03-13')", ("cmp", "co", b"{}", bytes(64)))
            db.execute_sql(f"INSERT INTO pledge VALUES ({q}, {q}, 1, {q}, {q}, '2027-02-01')",
                           ("pl", "cmp", b"sealed", bytes(32)))
            db.execute_sql(f"INSERT INTO announcement VALUES ({q}, {q}, {q}, {q})",
                           ("an", "cmp", b"{}", bytes(64)))
            assert migrations.upgrade(db, until="0002_protocol_1_1") == ["0002_protocol_1_1"]
            row = db.execute_sql("SELECT time_zone, open_until, live_until FROM campaign").fetchone()
            assert tuple(row) == ("UTC", 1803686400, 1804982400)  # 2027-02-27 and 03-14, 00:00 UTC
            assert db.execute_sql("SELECT gone_at FROM announcement").fetchone()[0] is None
            assert db.execute_sql("SELECT count(*) FROM pledge").fetchone()[0] == 1
            assert db.execute_sql("SELECT count(*) FROM tally").fetchone()[0] == 0
            indexes = {tuple(i.columns) for i in db.get_indexes("campaign")}
            assert ("live_until",) in indexes
            assert migrations.downgrade_last(db) == "0002_protocol_1_1"
            assert db.execute_sql("SELECT count(*) FROM pledge").fetchone()[0] == 1
    finally:
        db.close()


@BACKENDS
def test_no_table_has_an_autoincrement_or_sequential_key(db_url: str) -> None:
    db = bind(db_url)
    try:
        with db.connection_context():
            migrations.upgrade(db)
            if isinstance(db, SqliteDatabase):
                sql = [r[0] or "" for r in db.execute_sql("SELECT sql FROM sqlite_master").fetchall()]
                assert not any("AUTOINCREMENT" in s.upper() for s in sql)
                assert "sqlite_sequence" not in db.get_tables()
                for table in db.get_tables():
                    pk = [c for c in db.get_columns(table) if c.primary_key]
                    # a lone INTEGER PRIMARY KEY is the rowid: it numbers rows in arrival order
                    assert not (len(pk) == 1 and pk[0].data_type.upper() == "INTEGER"), table
            else:
                assert isinstance(db, PostgresqlDatabase)
                serial = db.execute_sql(
                    "SELECT table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND (column_default LIKE 'nextval%%' "
                    "OR is_identity = 'YES')").fetchall()
                assert serial == []
                assert db.execute_sql("SELECT count(*) FROM information_schema.sequences "
                                      "WHERE sequence_schema = 'public'").fetchone()[0] == 0
    finally:
        db.close()


def test_student_tables_are_without_rowid_on_sqlite(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with db.connection_context():
        migrations.upgrade(db)
        # pledges: each campaign's own table, made with the campaign (migration 0009)
        from server.store.partitions import create_partition, partition_name
        create_partition("c0", db)
        for table in (partition_name("c0"), "announcement"):
            sql = db.execute_sql("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
            assert sql.rstrip().upper().endswith("WITHOUT ROWID"), sql
            with pytest.raises(peewee.OperationalError, match="rowid"):
                db.execute_sql(f"SELECT rowid FROM {table}")
        # nor does the nonce table count organizers' requests in arrival order (issue 13)
        sql = db.execute_sql("SELECT sql FROM sqlite_master WHERE name = 'request_nonce'").fetchone()[0]
        assert sql.rstrip().upper().endswith("WITHOUT ROWID"), sql
        # campaigns hold no per-student data, but their ids are random all the same
        assert db.get_primary_keys("campaign") == ["id"]
    db.close()


# ---------- SQLite pragmas on every connection ----------

WANTED = {"journal_mode": "wal", "synchronous": 2, "secure_delete": 1, "foreign_keys": 1}


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Every SQLite connection opened during the test, with its thread and its pragmas."""
    seen: list[tuple[str, dict[str, Any]]] = []
    real = SqliteDatabase._connect

    def spy(self: SqliteDatabase) -> sqlite3.Connection:
        conn = real(self)
        pragmas = {name: conn.execute(f"PRAGMA {name}").fetchone()[0] for name in WANTED}
        seen.append((threading.current_thread().name, pragmas))
        return conn

    monkeypatch.setattr(SqliteDatabase, "_connect", spy)
    return seen


def test_the_pragmas_the_server_asks_for() -> None:
    assert {k: SQLITE_PRAGMAS[k] for k in WANTED} == WANTED
    assert SQLITE_PRAGMAS["busy_timeout"] > 0


def _sqlite_config(tmp_path: Path, **overrides: Any) -> Config:
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    return Config(instance_path=instance, database_url=f"sqlite:///{instance / 'pledgebox.sqlite3'}",
                  ratelimits_enabled=False, **overrides)


def test_app_request_connections_have_the_pragmas(tmp_path: Path, connections: list) -> None:
    app = create_app(_sqlite_config(tmp_path, purge_in_background=False))
    with database.connection_context():
        migrations.upgrade(database.obj)
    connections.clear()
    assert app.test_client().get("/api/v1/campaigns/cmp_None").status_code == 404
    assert connections, "the request opened no connection"
    for _thread, pragmas in connections:
        assert pragmas == WANTED


def test_cli_purge_connections_have_the_pragmas(tmp_path: Path, connections: list,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    config = _sqlite_config(tmp_path)
    monkeypatch.setenv("PLEDGEBOX_INSTANCE_PATH", str(config.instance_path))
    monkeypatch.setenv("PLEDGEBOX_DATABASE_URL", config.database_url)
    assert cli.main(["db", "upgrade"]) == 0
    connections.clear()
    assert cli.main(["purge"]) == 0
    assert "purged" in capsys.readouterr().out
    assert connections, "the purge opened no connection"
    for _thread, pragmas in connections:
        assert pragmas == WANTED
    if not database.is_closed():
        database.close()


def test_background_purge_thread_connections_have_the_pragmas(tmp_path: Path, connections: list) -> None:
    app = create_app(_sqlite_config(tmp_path, purge_interval_seconds=1))
    with database.connection_context():
        migrations.upgrade(database.obj)
    connections.clear()
    start_background_purge(app)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(t == "pledgebox-purge" for t, _ in connections):
            time.sleep(0.1)
    finally:
        app.extensions["pledgebox-purge-stop"].set()
    from_thread = [p for t, p in connections if t == "pledgebox-purge"]
    assert from_thread, "the background purge opened no connection of its own"
    for _thread, pragmas in connections:
        assert pragmas == WANTED


def test_the_database_file_itself_is_in_wal_mode(tmp_path: Path) -> None:
    """journal_mode=wal persists in the file: any tool that opens it later keeps WAL."""
    config = _sqlite_config(tmp_path)
    create_app(config)
    with database.connection_context():
        migrations.upgrade(database.obj)
    database.close()
    raw = sqlite3.connect(config.database_url.removeprefix("sqlite:///"))
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        raw.close()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_servers_starting_together_on_postgresql_take_turns_at_migrating(db_url: str) -> None:
    """compose's `scale` starts two app containers at once on one empty database; each upgrades."""
    holder = open_database(db_url)
    holder.connect()
    holder.execute_sql("SELECT pg_advisory_lock(%s)", (migrations._PG_LOCK,))
    results: list[list[str] | BaseException] = []

    def start_a_server() -> None:
        db = open_database(db_url)
        try:
            with db.connection_context():
                results.append(migrations.upgrade(db))
        except BaseException as exc:  # reported below
            results.append(exc)
        finally:
            db.close()

    servers = [threading.Thread(target=start_a_server) for _ in range(3)]
    for server in servers:
        server.start()
    time.sleep(1.0)
    assert not results, "a server migrated while another held the migration lock"
    assert holder.get_tables() == []
    holder.execute_sql("SELECT pg_advisory_unlock(%s)", (migrations._PG_LOCK,))
    for server in servers:
        server.join(timeout=60)
    holder.close()
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sorted(results, key=len) == [[], [], ALL_MIGRATIONS]  # each migration ran once


@BACKENDS
def test_0007_keeps_every_pledge_up_and_down_and_partitions_them_by_campaign(db_url: str) -> None:
    """Pledges of two campaigns survive 0007 and its undoing byte for byte; on PostgreSQL each
    campaign's pledges are in their own partition afterwards, and none in any other."""
    from server.store.partitions import every_pledge, partition_name

    db = bind(db_url)
    q = db.param
    rows = {(f"p{i:03d}", f"c{i % 2}", 1, bytes([i]) * 1100, bytes([i]) * 32) for i in range(40)}
    try:
        with db.connection_context():
            migrations.upgrade(db, until="0005_request_nonce_without_rowid")
            db.execute_sql(f"INSERT INTO coalition VALUES ({q}, 'C', {q}, '2027-01-01')",
                           ("co", bytes(32)))
            for cid in ("c0", "c1"):
                db.execute_sql(f"INSERT INTO campaign VALUES ({q}, {q}, {q}, {q}, '2027-02-26', "
                               f"'2027-03-13', 'UTC', 1803686400, 1804982400)",
                               (cid, "co", b"{}", bytes(64)))
            for row in rows:
                db.execute_sql(f"INSERT INTO pledge VALUES ({q}, {q}, {q}, {q}, {q}, '2027-02-01')",
                               row)

            def stored() -> set[tuple[Any, ...]]:
                return {(r[0], r[1], r[2], bytes(r[3]), bytes(r[4])) for r in db.execute_sql(
                    "SELECT id, campaign_id, key_version, ciphertext, withdraw_token_hash "
                    f"FROM {every_pledge(db)}").fetchall()}  # SQLite after 0009: every table

            assert migrations.upgrade(db) == [n for n in ALL_MIGRATIONS
                                              if n > "0005_request_nonce_without_rowid"]
            assert stored() == rows
            if isinstance(db, PostgresqlDatabase):
                for cid in ("c0", "c1"):
                    part = partition_name(cid)
                    ids = {r[0] for r in db.execute_sql(f'SELECT campaign_id FROM "{part}"')}
                    assert ids == {cid}
                kind = db.execute_sql("SELECT relkind FROM pg_class WHERE relname = 'pledge'")
                assert kind.fetchone()[0] == "p"
            while migrations.downgrade_last(db) != "0007_pledges_by_campaign":
                pass
            assert stored() == rows
            if isinstance(db, PostgresqlDatabase):
                kind = db.execute_sql("SELECT relkind FROM pg_class WHERE relname = 'pledge'")
                assert kind.fetchone()[0] == "r"
                assert not db.table_exists(partition_name("c0"))
    finally:
        db.close()


def test_0009_keeps_every_pledge_up_and_down_and_gives_each_campaign_a_table_on_sqlite(
        tmp_path: Path) -> None:
    """Pledges of three campaigns (one without pledges) survive 0009 and its undoing byte for
    byte, every column; afterwards each campaign's pledges are in their own WITHOUT ROWID table
    with the flat table's columns and key and none of another campaign's, and `pledge` is gone;
    down restores the flat table with its foreign key and index; up again works."""
    from server.store.partitions import every_pledge, partition_name, sqlite_pledge_tables

    db = bind(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    flat = ("SELECT id, campaign_id, key_version, ciphertext, withdraw_token_hash, received_day "
            "FROM {} ORDER BY id")
    rows = [(f"p{i:03d}", f"c{i % 2}", 1 + i % 3, bytes([i]) * (1072 + 1024 * (i % 3)),
             bytes([i]) * 32, f"2027-02-{1 + i % 20:02d}") for i in range(60)]
    try:
        with db.connection_context():
            migrations.upgrade(db, until="0007_pledges_by_campaign")
            db.execute_sql("INSERT INTO coalition VALUES ('co', 'C', ?, '2027-01-01')", (bytes(32),))
            for cid in ("c0", "c1", "c2"):
                db.execute_sql("INSERT INTO campaign VALUES (?, 'co', ?, ?, '2027-02-26', "
                               "'2027-03-13', 'UTC', 1803686400, 1804982400)",
                               (cid, b"{}", bytes(64)))
            db.execute_sql("INSERT INTO server_state VALUES ('pledges-at-scrub', '60', 0)")
            for row in rows:
                db.execute_sql("INSERT INTO pledge VALUES (?, ?, ?, ?, ?, ?)", row)
            before = db.execute_sql(flat.format("pledge")).fetchall()
            assert [tuple(r) for r in before] == rows

            assert migrations.upgrade(db) == [n for n in ALL_MIGRATIONS
                                              if n > "0007_pledges_by_campaign"]
            assert not db.table_exists("pledge")
            assert sqlite_pledge_tables(db) == sorted(partition_name(c) for c in ("c0", "c1", "c2"))
            for cid in ("c0", "c1", "c2"):
                table = partition_name(cid)
                mine = db.execute_sql(flat.format(f'"{table}"')).fetchall()
                assert [tuple(r) for r in mine] == [r for r in rows if r[1] == cid]
                sql = db.execute_sql("SELECT sql FROM sqlite_master WHERE name = ?",
                                     (table,)).fetchone()[0]
                assert sql.endswith("WITHOUT ROWID")
                assert ([(c.name, c.data_type, c.null, c.primary_key)
                         for c in db.get_columns(table)]
                        == [("id", "VARCHAR(64)", False, True),
                            ("campaign_id", "VARCHAR(64)", False, False),
                            ("key_version", "INTEGER", False, False),
                            ("ciphertext", "BLOB", False, False),
                            ("withdraw_token_hash", "BLOB", False, False),
                            ("received_day", "DATE", False, False)])
            assert db.execute_sql("SELECT count(*) FROM server_state WHERE name = "
                                  "'pledges-at-scrub'").fetchone()[0] == 0

            # What a big campaign's rebuild in slices cut off part-way leaves: a next table
            # with copies, fed by a trigger on the live table (server/retention/sqlite_slices.py)
            live = partition_name("c0")
            db.execute_sql(f'CREATE TABLE "{live}__next" AS SELECT * FROM "{live}"')
            db.execute_sql(f'CREATE TRIGGER "{live}__sync_delete" AFTER DELETE ON "{live}" '
                           f'BEGIN DELETE FROM "{live}__next" WHERE id = OLD.id; END')

            assert migrations.downgrade_last(db) == "0010_sqlite_arrivals_marked_by_the_intake"
            assert migrations.downgrade_last(db) == "0009_sqlite_pledges_by_campaign"
            assert sqlite_pledge_tables(db) == []
            assert db.execute_sql("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger') "
                                  "AND name LIKE 'pledge\\_c%' ESCAPE '\\'").fetchall() == []
            after = db.execute_sql(flat.format("pledge")).fetchall()
            assert [tuple(r) for r in after] == rows
            assert ("campaign_id", "campaign", "id", "CASCADE") in _on_delete(db, "pledge")
            assert [i.columns for i in db.get_indexes("pledge")
                    if not i.name.startswith("sqlite_autoindex")] == [["campaign_id"]]
            assert migrations.upgrade(db) == ["0009_sqlite_pledges_by_campaign",
                                              "0010_sqlite_arrivals_marked_by_the_intake"]
            again = db.execute_sql(flat.format(every_pledge(db))).fetchall()
            assert sorted(tuple(r) for r in again) == rows
    finally:
        db.close()


def test_0010_takes_the_arrival_triggers_away_and_the_intake_marks_arrivals_instead(
        tmp_path: Path) -> None:
    """A rebuild puts every row of a campaign back under the write lock, and 0009's trigger fired
    for each of them. After 0010 no pledge table has a trigger, so rows put back mark nothing,
    and the intake marks the table a pledge went into, in the pledge's transaction; down puts
    the trigger back on every table, where a row inserted marks its table again."""
    from datetime import date

    from server.store.partitions import arrival_mark, partition_name
    from server.store.pledges import accept_pledge

    db = bind(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    c0, c1 = partition_name("c0"), partition_name("c1")

    def triggers() -> set[str]:
        rows = db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
        return {name for (name,) in rows}

    def marked() -> set[str]:
        rows = db.execute_sql("SELECT name FROM server_state WHERE name LIKE 'arrived:%'")
        return {name for (name,) in rows.fetchall()}

    def put_back(table: str) -> None:  # as a rebuild's refill does: a plain INSERT of a row
        db.execute_sql(f'INSERT INTO "{table}" VALUES (?, ?, 1, ?, ?, ?)',
                       (secrets.token_hex(8), "c0", bytes(1072), bytes(32), "2027-02-01"))

    try:
        with db.connection_context():
            migrations.upgrade(db, until="0008_tagged_pledge_ids")
            db.execute_sql("INSERT INTO coalition VALUES ('co', 'C', ?, '2027-01-01')", (bytes(32),))
            db.execute_sql("INSERT INTO encryption_key VALUES ('co', 1, ?, '2027-04-01', ?)",
                           (bytes(32), bytes(64)))
            for cid in ("c0", "c1"):
                db.execute_sql("INSERT INTO campaign (id, coalition_id, descriptor, "
                               "descriptor_signature, closes_at, delete_after, time_zone, "
                               "open_until, live_until) VALUES (?, 'co', ?, ?, '2027-02-26', "
                               "'2027-03-13', 'UTC', 1803686400, 1804982400)",
                               (cid, b"{}", bytes(64)))
            assert migrations.upgrade(db, until="0009_sqlite_pledges_by_campaign")
            assert triggers() == {c0 + "_arrived", c1 + "_arrived"}

            assert migrations.upgrade(db) == ["0010_sqlite_arrivals_marked_by_the_intake"]
            assert triggers() == set()
            put_back(c0)
            assert marked() == set()
            accept_pledge("c1", 1, bytes(1072), bytes(32), date(2027, 2, 1), 1801000000.0)
            assert marked() == {arrival_mark(c1)}

            assert migrations.downgrade_last(db) == "0010_sqlite_arrivals_marked_by_the_intake"
            assert triggers() == {c0 + "_arrived", c1 + "_arrived"}
            put_back(c0)
            assert marked() == {arrival_mark(c0), arrival_mark(c1)}
    finally:
        db.close()


@BACKENDS
def test_a_migration_numbered_below_the_latest_that_lands_later_is_still_applied(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """0007 was numbered while 0006 was still being written elsewhere: a database upgraded
    without 0006 gets it, once, at the next upgrade, and downgrading undoes both."""
    every = migrations.available()
    without_0006 = [m for m in every if not m.__name__.endswith(".0006") and "0006_" not in m.__name__]
    # An existing migration that touches another table plays the late one.
    pretend = next(m for m in every if m.__name__.endswith("0005_request_nonce_without_rowid"))
    late = pretend.__name__.rsplit(".", 1)[1]
    db = bind(db_url)
    try:
        with db.connection_context():
            monkeypatch.setattr(migrations, "available",
                                lambda: [m for m in without_0006 if m is not pretend])
            applied_first = migrations.upgrade(db)
            assert late not in applied_first
            assert "0007_pledges_by_campaign" in applied_first
            monkeypatch.setattr(migrations, "available", lambda: without_0006)
            assert migrations.upgrade(db) == [late]
            assert migrations.upgrade(db) == []
            assert late in migrations.applied(db)
    finally:
        db.close()
