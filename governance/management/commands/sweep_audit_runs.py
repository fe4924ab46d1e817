from django.core.management.base import BaseCommand
from django.utils import timezone

from governance.services.audit_runs import audit_runs_sweep


class Command(BaseCommand):
    help = "Queue again the audit runs that waited too long (broker outage, crashed worker)."

    def handle(self, *args, **options):
        requeued = audit_runs_sweep(now=timezone.now())
        self.stdout.write(self.style.SUCCESS(f"{requeued} audit runs queued again."))
