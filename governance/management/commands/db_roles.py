import os

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from aura_project.errors import DomainError
from governance.services.db_roles import ROLE_DEFAULTS, RoleNames, db_roles_apply


class Command(BaseCommand):
    help = (
        "Create or update the PostgreSQL owner, application and purge roles and lay their grants (idempotent). "
        "Connect as a superuser (DATABASE_URL, or --database); run it before the first migrate and after every one."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="The alias to connect through (a superuser).")
        for kind, default in ROLE_DEFAULTS.items():
            variable = f"AURA_DB_{kind.upper()}"
            parser.add_argument(
                f"--{kind}",
                default=os.environ.get(variable) or default,
                help=f"The {kind} role's name (${variable}, default {default}). "
                f"Its password, if set, comes from ${variable}_PASSWORD.",
            )

    def handle(self, *args, database: str, owner: str, app: str, purge: str, **options):
        passwords = {kind: os.environ.get(f"AURA_DB_{kind.upper()}_PASSWORD", "") for kind in ROLE_DEFAULTS}
        try:
            applied = db_roles_apply(
                names=RoleNames(owner=owner, app=app, purge=purge), passwords=passwords, using=database
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        created = ", ".join(applied.created) or "none"
        grants = ", ".join(f"{n} {kind}" for kind, n in sorted(applied.grants.items()))
        self.stdout.write(
            f"Roles: owner {owner}, application {app}, purge {purge} (created: {created}). "
            f"{len(applied.owned)} objects moved to {owner}. Tables: {grants}."
        )
