from django.core.management.base import BaseCommand
from django.utils import timezone

from governance.services.audit_runs import audit_runs_sweep
from governance.services.scoring_runs import scoring_runs_sweep
from workforce.services.handover import handovers_sweep


class Command(BaseCommand):
    help = (
        "Queue again the audit and scoring runs that waited too long (broker outage, crashed worker), and run "
        "the handovers of tasks left pending."
    )

    def handle(self, *args, **options):
        now = timezone.now()
        audit, scoring = audit_runs_sweep(now=now), scoring_runs_sweep(now=now)
        handed = handovers_sweep(now=now)
        self.stdout.write(
            self.style.SUCCESS(
                f"{audit} audit runs and {scoring} scoring runs queued again; {handed} pending handovers run."
            )
        )
