from django.core.management.base import BaseCommand
from django.utils import timezone

from governance.models import ScoringRun
from governance.services.scoring_runs import scoring_run_execute, scoring_run_start
from workforce.domain.actor import COMMAND


class Command(BaseCommand):
    help = "Score every worker with new evidence now, in this process (the hourly beat job's twin)."

    def add_arguments(self, parser):
        parser.add_argument("--key", help="Name the run; running the same key again scores nobody twice.")

    def handle(self, *args, key: str | None = None, **options):
        now = timezone.now()
        run, created = scoring_run_start(
            trigger=ScoringRun.Trigger.COMMAND, now=now, key=key, enqueue=False, actor=COMMAND
        )
        state = "new" if created else "existing"
        self.stdout.write(f"Scoring run {run.key} ({state}), evidence up to {run.window_end:%Y-%m-%d %H:%M:%S}...")
        run = scoring_run_execute(run_id=run.pk)
        self.stdout.write(
            self.style.SUCCESS(f"Scoring run {run.key}: {run.status}, {run.workers_scored} workers scored.")
        )
