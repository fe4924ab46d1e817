"""`manage.py issue_api_key NAME --role manager`: a service key; the raw key is the last line printed."""

from django.core.management.base import BaseCommand, CommandError

from workforce.models import Role, ServiceKey
from workforce.services.access import role_group

ROLE_CHOICES = [role.value.lower() for role in Role]


class Command(BaseCommand):
    help = "Issue an API key for a service acting in one role. The key is printed once, on the last line."

    def add_arguments(self, parser):
        parser.add_argument("name", help="who holds the key, e.g. 'manager-prod'")
        parser.add_argument(
            "--role",
            required=True,
            help=f"the role the key acts in: {', '.join(ROLE_CHOICES)} (any case)",
        )

    def handle(self, *args, name: str, role: str, **options):
        if not name.strip():
            raise CommandError("NAME must not be empty")
        try:
            group = role_group(role)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        key, raw_key = ServiceKey.objects.create_key(name=name.strip(), role=group)
        self.stdout.write(f"Issued API key {key.prefix}… named {key.name!r} with role {group.name}.")
        self.stdout.write("Send it as 'Authorization: Api-Key <key>'. It is shown only once:")
        self.stdout.write(raw_key)
