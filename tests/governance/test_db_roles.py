"""Least privilege on PostgreSQL: connected as the application's role, every way around the append-only record
is refused; the purges still work over the purge role's own connection.

The roles are made in the test database by the real command's service (db_roles_apply), with names of their
own so that parallel test runs on one server do not meet, and dropped at the end of the module. Each refusal is
tried over a real login as that role (psycopg), never by mocking the database.
"""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import psycopg
import pytest
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, ProgrammingError, connection, connections
from django.utils import timezone
from psycopg import errors

from governance import record_tables
from governance.models import AuditRecord, Incident, PurgeLog
from governance.services.db_roles import RoleNames, db_roles_apply
from governance.services.permits import PURGE_ALIAS, purge_database
from governance.services.purge import purge_expired, records_purge_early
from tests.governance.services.test_purge import assert_kept, assert_purged, record
from tests.governance.services.test_purge_safety import hallucinate, hire

pytestmark = pytest.mark.postgres

DAY = timedelta(days=1)
# Statements that would rewrite, erase or unguard a table of the record; {t} is the table.
BYPASSES = {
    "update": "UPDATE {t} SET {c} = {c}",
    "delete": "DELETE FROM {t}",
    "truncate": "TRUNCATE {t}",
    "disable trigger": "ALTER TABLE {t} DISABLE TRIGGER ALL",
    "drop trigger": "DROP TRIGGER {t}_append_only_delete ON {t}",
    "alter table": "ALTER TABLE {t} ADD COLUMN forged text",
}


@dataclass(frozen=True)
class Roles:
    names: RoleNames
    passwords: dict[str, str]

    def login(self, kind: str, **kwargs) -> psycopg.Connection:
        """A connection to the test database as this role."""
        settings = connection.settings_dict
        return psycopg.connect(
            host=settings["HOST"] or None,
            port=settings["PORT"] or None,
            dbname=settings["NAME"],
            user=getattr(self.names, kind),
            password=self.passwords[kind],
            **kwargs,
        )


@pytest.fixture(scope="module")
def pg_roles(django_db_setup, django_db_blocker) -> Iterator[Roles]:
    """The three roles, and the purge alias (DATABASE_PURGE_URL in production) logging in as the purge role.

    The alias is configured before any test of the module sets up, so that a test may name it in its databases.
    It mirrors the default database, so a transactional test's flush leaves it alone."""
    prefix = connection.settings_dict["NAME"][:40]
    names = RoleNames(owner=f"{prefix}_owner", app=f"{prefix}_app", purge=f"{prefix}_purge")
    passwords = {kind: secrets.token_hex(16) for kind in ("owner", "app", "purge")}
    with django_db_blocker.unblock():
        db_roles_apply(names=names, passwords=passwords)
        connections.settings[PURGE_ALIAS] = {
            **connections[DEFAULT_DB_ALIAS].settings_dict,
            "USER": names.purge,
            "PASSWORD": passwords["purge"],
            "TEST": {**connections[DEFAULT_DB_ALIAS].settings_dict["TEST"], "MIRROR": DEFAULT_DB_ALIAS},
        }
        try:
            yield Roles(names, passwords)
        finally:
            connections[PURGE_ALIAS].close()
            del connections[PURGE_ALIAS]
            del connections.settings[PURGE_ALIAS]
            # The tables go back to the superuser who made them, and the roles leave no trace on the server.
            qn = connection.ops.quote_name
            with connection.cursor() as cursor:
                cursor.execute(f"REASSIGN OWNED BY {qn(names.owner)} TO CURRENT_USER")
                for name in (names.owner, names.app, names.purge):  # one at a time: the default ACLs name all three
                    cursor.execute(f"DROP OWNED BY {qn(name)}")
                cursor.execute(f"DROP ROLE {qn(names.owner)}, {qn(names.app)}, {qn(names.purge)}")


@pytest.fixture
def app(pg_roles) -> Iterator[psycopg.Connection]:
    with pg_roles.login("app", autocommit=True) as conn:
        yield conn


@contextmanager
def purge_connection_as(pg_roles: Roles, user: str, password: str = "") -> Iterator[None]:
    """The purge alias logs in as `user` for the block (in every thread), then as the purge role again."""
    settings = connections.settings[PURGE_ALIAS]
    connections[PURGE_ALIAS].close()
    settings.update(USER=user, PASSWORD=password)
    try:
        yield
    finally:
        connections[PURGE_ALIAS].close()
        settings.update(USER=pg_roles.names.purge, PASSWORD=pg_roles.passwords["purge"])


# Tests that purge name the purge alias: its connections are opened by the purge, in its threads too.
purging = pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, PURGE_ALIAS])


def key_column(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum = 1", [table])
        return cursor.fetchone()[0]


def refused(conn: psycopg.Connection, sql: str) -> errors.Error:
    with pytest.raises(errors.InsufficientPrivilege) as caught:
        conn.execute(sql)
    return caught.value


# --- The roles ------------------------------------------------------------------------------------------------


def test_the_application_role_is_no_superuser_and_owns_nothing(pg_roles, app):
    attributes = app.execute(
        "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication FROM pg_roles "
        "WHERE rolname = current_user"
    ).fetchone()
    owned = app.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND pg_get_userbyid(c.relowner) = current_user"
    ).fetchone()

    assert attributes == (False, False, False, False, False)
    assert owned == (0,)
    refused(app, f'SET ROLE "{pg_roles.names.owner}"')
    refused(app, f'SET ROLE "{pg_roles.names.purge}"')


def test_the_owner_owns_every_table_of_the_schema(pg_roles, db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        )
        assert cursor.fetchall() == [(pg_roles.names.owner,)]


def test_the_command_is_idempotent_and_lays_the_same_grants_again(pg_roles, db):
    def grants() -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT table_name, column_name, grantee, privilege_type FROM information_schema.column_privileges "
                "WHERE grantee IN (%s, %s) ORDER BY 1, 2, 3, 4",
                [pg_roles.names.app, pg_roles.names.purge],
            )
            return cursor.fetchall()

    before = grants()
    applied = db_roles_apply(names=pg_roles.names)

    assert applied.created == [] and applied.owned == []
    assert grants() == before
    assert (record_tables.INCIDENT, "severity", pg_roles.names.app, "UPDATE") not in before
    assert (record_tables.INCIDENT, "status", pg_roles.names.app, "UPDATE") in before


def test_the_command_refuses_to_run_as_one_of_its_roles(pg_roles, db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="superuser other than"):
        call_command("db_roles", owner=connection.settings_dict["USER"], app="x_app", purge="x_purge")


# --- Every bypass, as the application's role ---------------------------------------------------------------


@pytest.mark.parametrize("bypass", BYPASSES, ids=str)
@pytest.mark.parametrize("table", record_tables.GUARDED, ids=str)
def test_the_application_cannot_rewrite_erase_or_unguard_the_record(pg_roles, app, table, bypass):
    # The key (its first column) is never one of the columns the application may update.
    refused(app, BYPASSES[bypass].format(t=table, c=key_column(table)))


def test_the_application_cannot_switch_the_triggers_off_for_its_session(app):
    error = refused(app, "SET session_replication_role = replica")

    assert "session_replication_role" in str(error)


def test_the_application_cannot_replace_a_trigger_function(app):
    refused(
        app,
        "CREATE OR REPLACE FUNCTION governance_append_only_refuse_delete_statement() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END; $$",
    )


@pytest.mark.django_db(transaction=True)
def test_a_permit_row_unlocks_nothing_for_the_application(pg_roles, app):
    worker = hire("permitted")
    old = record(worker, timezone.now() - 400 * DAY)

    # Its own permit, in its own transaction: the INSERT itself is refused.
    with pytest.raises(errors.InsufficientPrivilege), app.transaction():
        app.execute("INSERT INTO governance_purgepermit (reason, created_at) VALUES ('forged', now())")
        app.execute("DELETE FROM governance_auditrecord")
    # A permit committed by someone who may (a purge killed at the wrong moment): still no DELETE.
    with pg_roles.login("purge", autocommit=True) as purge:
        purge.execute("INSERT INTO governance_purgepermit (reason, created_at) VALUES ('left behind', now())")
    try:
        for table in (AuditRecord._meta.db_table, Incident._meta.db_table, AuditRecord.history.model._meta.db_table):
            refused(app, f"DELETE FROM {table}")
    finally:
        with pg_roles.login("purge", autocommit=True) as purge:
            purge.execute("DELETE FROM governance_purgepermit")

    assert_kept(old)


@pytest.mark.django_db(transaction=True)
def test_the_application_still_does_its_own_work_on_the_record(pg_roles, app):
    worker = hire("working")
    rec = record(worker, timezone.now())

    app.execute(
        "INSERT INTO workforce_event (kind, model_id, task_id, payload, created_at) "
        "VALUES ('incident.opened', 'm', '', '{}', now())"
    )
    app.execute(
        "UPDATE governance_incident SET status = 'RESOLVED', resolved_at = now() WHERE id = %s", [rec.incident.pk]
    )
    refused(app, f"UPDATE governance_incident SET severity = 5 WHERE id = '{rec.incident.pk}'")
    refused(
        app,
        "INSERT INTO governance_purgelog (actor_kind, counts, dry_run, started_at) VALUES ('beat', '{}', false, now())",
    )

    assert Incident.objects.get(pk=rec.incident.pk).status == "RESOLVED"


# --- The purges, over the purge role's connection -----------------------------------------------------------


def test_the_purge_uses_its_own_connection_only_when_it_is_another_login(pg_roles, db):
    assert purge_database() == PURGE_ALIAS
    with purge_connection_as(pg_roles, connection.settings_dict["USER"], connection.settings_dict["PASSWORD"]):
        assert purge_database() == DEFAULT_DB_ALIAS


@purging
def test_the_retention_purge_runs_as_the_purge_role_in_chunks(pg_roles, monkeypatch):
    from governance.services import purge as purge_module

    monkeypatch.setattr(purge_module, "CHUNK", 2)  # several chunks, deleted by the streams' own connections
    now = timezone.now().replace(microsecond=0)
    worker = hire("expired")
    old = [record(worker, now - 400 * DAY) for _ in range(3)]
    young = record(worker, now - 5 * DAY)

    result = purge_expired(now=now)
    with connections[PURGE_ALIAS].cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == (pg_roles.names.purge,)

    assert_purged(*old)
    assert_kept(young)
    assert result.counts["governance_auditrecord"] == 6  # a clean report and a timeout's per record
    log = PurgeLog.objects.get()
    assert log.counts == result.counts and log.finished_at is not None


@purging
def test_the_retention_purge_over_the_application_role_is_refused(pg_roles):
    now = timezone.now()
    old = record(hire("still-here"), now - 400 * DAY)

    as_app = purge_connection_as(pg_roles, pg_roles.names.app, pg_roles.passwords["app"])
    with as_app, pytest.raises(ProgrammingError, match="permission denied"):
        purge_expired(now=now)

    assert_kept(old)


@purging
def test_the_directors_early_purge_runs_as_the_purge_role(pg_roles, director):
    now = timezone.now()
    worker = hire("early")
    hire("spare")
    purged, kept = hallucinate(worker, now - 2 * DAY), hallucinate(worker, now - DAY)

    log = records_purge_early(
        model_label="governance.incident", ids=[purged.incident_id], reason="erasure", actor=director, now=now
    )

    assert not AuditRecord.objects.filter(pk=purged.pk).exists()
    assert not AuditRecord.history.model.objects.filter(id=purged.pk).exists()
    assert AuditRecord.objects.filter(pk=kept.pk).exists()
    assert PurgeLog.objects.get() == log and log.counts["governance_incident"] == 1


def test_the_purge_role_may_delete_the_record_but_never_rewrite_or_unguard_it(pg_roles):
    with pg_roles.login("purge", autocommit=True) as purge:
        refused(purge, "UPDATE governance_auditrecord SET outcome = 'clean'")
        refused(purge, "TRUNCATE governance_auditrecord")
        refused(purge, "ALTER TABLE governance_auditrecord DISABLE TRIGGER ALL")
        refused(purge, "SET session_replication_role = replica")
        # Its DELETE still needs a permit: the triggers stay as defence in depth.
        with pytest.raises(errors.RestrictViolation, match="append-only: DELETE refused"):
            purge.execute("DELETE FROM governance_auditrecord")
