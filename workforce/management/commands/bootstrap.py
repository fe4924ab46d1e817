"""`manage.py bootstrap`: the role groups, and on the first run the Director account with a one-time password."""

from django.core.management.base import BaseCommand

from workforce.services.access import DIRECTOR_USERNAME, ensure_director, ensure_roles


class Command(BaseCommand):
    help = "Create the role groups (Director, Manager, Auditor, Viewer) and, once, the Director account."

    def add_arguments(self, parser):
        parser.add_argument(
            "--username", default=DIRECTOR_USERNAME, help="the Director's username (default: %(default)s)"
        )

    def handle(self, *args, username: str, **options):
        groups = ensure_roles()
        self.stdout.write(f"Role groups ready: {', '.join(groups)}")
        account = ensure_director(username)
        if not account.created:
            self.stdout.write(f"The Director account {username!r} already exists; its password is unchanged.")
            return
        self.stdout.write(self.style.SUCCESS(f"Created the Director account {username!r}."))
        self.stdout.write(f"  username: {username}")
        self.stdout.write(f"  password: {account.password}")
        self.stdout.write(
            "This password is shown only this once. Log in at /admin/ and change it (/admin/password_change/)."
        )
