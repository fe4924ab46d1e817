"""Least privilege in PostgreSQL: three roles, so the application cannot rewrite or erase the record it keeps.

- The owner owns every table, sequence and function of the schema and runs the migrations. Only an owner (or a
  superuser) may TRUNCATE a table, ALTER it, DISABLE or DROP its triggers.
- The application's role (DATABASE_URL of web, worker and beat) is no superuser and owns nothing. On the
  record (record_tables.APPEND_ONLY: evidence, every Historical* table, stored command answers) it may SELECT
  and INSERT only; on incidents and batch items it may UPDATE only the columns that legitimately move; the
  purge log and the permit table it may only read. Every other table it may read and write.
- The purge role (DATABASE_PURGE_URL, used only by the retention purge and the Director's early purge) has the
  application's privileges and, besides, may DELETE the record, insert and delete purge permits, and write the
  purge log and redact batch items (both still under a permit, as the triggers demand).
The triggers stay as defence in depth: a permit row cannot unlock anything for a role that may not DELETE.

`db_roles_apply` is idempotent and runs in one transaction, so the grants never show a gap to a running app.
Run it (manage.py db_roles) after every migrate: a table a later migration creates gets only SELECT and INSERT
from the default privileges (closed, not open) until the grants are laid again by what it holds.
"""

from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from aura_project.errors import DomainError
from governance import record_tables

ROLE_DEFAULTS = {"owner": "aura_owner", "app": "aura_app", "purge": "aura_purge"}
# The attributes each role is forced to on every run: none may bypass privileges or row security.
ROLE_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT"
READ_ONLY_TABLES = ("django_migrations",)


@dataclass(frozen=True)
class RoleNames:
    owner: str = ROLE_DEFAULTS["owner"]
    app: str = ROLE_DEFAULTS["app"]
    purge: str = ROLE_DEFAULTS["purge"]


@dataclass
class RolesApplied:
    created: list[str] = field(default_factory=list)
    owned: list[str] = field(default_factory=list)  # objects whose owner moved to the owner role
    grants: dict[str, int] = field(default_factory=dict)  # tables per kind of grant


def _table_grants(names: RoleNames, table: str, columns: dict[str, str]) -> list[tuple[str, str]]:
    """(privileges, role) for one table."""
    app, purge = names.app, names.purge
    if table in record_tables.APPEND_ONLY:
        return [("SELECT, INSERT", app), ("SELECT, DELETE", purge)]
    if table == record_tables.INCIDENT:
        incident_columns = ", ".join(columns[c] for c in record_tables.INCIDENT_MUTABLE_COLUMNS)
        # The purge's UPDATE column is for its FOR UPDATE lock (PostgreSQL asks for one); it changes nothing.
        return [
            (f"SELECT, INSERT, UPDATE ({incident_columns})", app),
            (f"SELECT, UPDATE ({incident_columns}), DELETE", purge),
        ]
    if table == record_tables.RUN_ITEMS:
        item_columns = ", ".join(columns[c] for c in record_tables.RUN_ITEM_SETTABLE)
        return [(f"SELECT, INSERT, UPDATE ({item_columns})", app), ("SELECT, UPDATE, DELETE", purge)]
    if table == record_tables.PURGE_LOG:
        return [("SELECT", app), ("SELECT, INSERT, UPDATE", purge)]
    if table == record_tables.PURGE_PERMIT:
        return [("SELECT", app), ("SELECT, INSERT, DELETE", purge)]
    if table in READ_ONLY_TABLES:
        return [("SELECT", app), ("SELECT", purge)]
    return [("SELECT, INSERT, UPDATE, DELETE", app), ("SELECT, INSERT, UPDATE, DELETE", purge)]


def _kind(table: str) -> str:
    if table in record_tables.APPEND_ONLY:
        return "append-only"
    if table in (record_tables.INCIDENT, record_tables.RUN_ITEMS):
        return "some columns updatable"
    if table in (record_tables.PURGE_LOG, record_tables.PURGE_PERMIT):
        return "purge only"
    return "read-only" if table in READ_ONLY_TABLES else "read-write"


def db_roles_apply(
    *, names: RoleNames = RoleNames(), passwords: dict[str, str] | None = None, using: str = DEFAULT_DB_ALIAS
) -> RolesApplied:
    """Create or update the three roles and lay their grants on the schema `using` connects to.

    `using` must connect as a superuser (or as a role that may create roles and owns the schema's objects).
    `passwords` maps "owner", "app", "purge" to a password to set; a role without one keeps its own."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        raise DomainError("database roles are PostgreSQL's; SQLite has one user and keeps the triggers", field="using")
    if len({names.owner, names.app, names.purge}) != 3:
        raise DomainError("the owner, application and purge roles must be three different roles", field="names")
    passwords = passwords or {}
    qn = connection.ops.quote_name
    owner, app, purge = qn(names.owner), qn(names.app), qn(names.purge)
    applied = RolesApplied()
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_database(), current_schema()")
        me, database, schema = cursor.fetchone()
        if me in (names.owner, names.app, names.purge):
            # Each role is forced to NOSUPERUSER below: run as one of them, this would demote itself.
            raise DomainError(f"run this as a superuser other than the three roles, not as {me}", field="using")
        schema_q = qn(schema)
        # 1. The roles, forced to their attributes; neither the app nor the purge may act as the owner.
        for kind, name in (("owner", names.owner), ("app", names.app), ("purge", names.purge)):
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(f"CREATE ROLE {qn(name)} {ROLE_ATTRIBUTES}")
                applied.created.append(name)
            else:
                cursor.execute(f"ALTER ROLE {qn(name)} {ROLE_ATTRIBUTES}")
            if passwords.get(kind):
                cursor.execute(f"ALTER ROLE {qn(name)} PASSWORD %s", [passwords[kind]])
        cursor.execute(
            "SELECT r.rolname, m.rolname FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid "
            "JOIN pg_roles m ON m.oid = am.member WHERE m.rolname IN (%s, %s)",
            [names.app, names.purge],
        )
        for granted, member in cursor.fetchall():  # no role the app or the purge could SET ROLE to
            cursor.execute(f"REVOKE {qn(granted)} FROM {qn(member)}")
        cursor.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {qn(database)} TO {owner}, {app}, {purge}")
        cursor.execute(f"GRANT USAGE, CREATE ON SCHEMA {schema_q} TO {owner}")
        cursor.execute(f"REVOKE CREATE ON SCHEMA {schema_q} FROM PUBLIC")
        cursor.execute(f"GRANT USAGE ON SCHEMA {schema_q} TO {app}, {purge}")
        # 2. The owner owns everything in the schema: tables (their identity sequences follow), the other
        # sequences, and the trigger functions, which a later migration replaces.
        cursor.execute(
            "SELECT format('%%I.%%I', n.nspname, c.relname), c.relkind FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND c.relowner <> %s::regrole "
            "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid "
            "AND d.deptype IN ('a', 'i', 'e')) ORDER BY c.relkind = 'S', 1",
            [schema, names.owner],
        )
        for name, kind in cursor.fetchall():
            statement = {"S": "SEQUENCE", "v": "VIEW", "m": "MATERIALIZED VIEW", "f": "FOREIGN TABLE"}.get(
                kind, "TABLE"
            )
            cursor.execute(f"ALTER {statement} {name} OWNER TO {owner}")
            applied.owned.append(name)
        cursor.execute(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = %s AND p.proowner <> %s::regrole AND NOT EXISTS (SELECT 1 FROM pg_depend d "
            "WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')",
            [schema, names.owner],
        )
        for (function,) in cursor.fetchall():
            cursor.execute(f"ALTER FUNCTION {function} OWNER TO {owner}")
            applied.owned.append(function)
        # 3. The grants, laid again from nothing in this transaction.
        for role in (app, purge):
            cursor.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema_q} FROM {role}, PUBLIC")
            cursor.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema_q} FROM {role}, PUBLIC")
        cursor.execute(
            "SELECT c.relname, a.attname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p')",
            [schema],
        )
        columns: dict[str, dict[str, str]] = {}
        for table, column in cursor.fetchall():
            columns.setdefault(table, {})[column] = qn(column)
        for table in sorted(columns):
            for privileges, role in _table_grants(names, table, columns[table]):
                cursor.execute(f"GRANT {privileges} ON {schema_q}.{qn(table)} TO {role}")
            applied.grants[_kind(table)] = applied.grants.get(_kind(table), 0) + 1
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema_q} TO {app}, {purge}")
        # 4. What a later migration creates: readable and appendable, no more, until this runs again.
        default = f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema_q}"
        cursor.execute(f"{default} REVOKE ALL ON TABLES FROM {app}, {purge}, PUBLIC")
        cursor.execute(f"{default} GRANT SELECT, INSERT ON TABLES TO {app}, {purge}")
        cursor.execute(f"{default} GRANT USAGE, SELECT ON SEQUENCES TO {app}, {purge}")
    return applied
