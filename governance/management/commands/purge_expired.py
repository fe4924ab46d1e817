from django.core.management.base import BaseCommand
from django.utils import timezone

from governance.management.commands._progress import ProgressBar
from governance.models import PurgeLog
from governance.services.purge import purge_expired


class Command(BaseCommand):
    help = "Delete records past the retention period, with their history rows (the daily beat job's twin)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would go; delete nothing.")

    def handle(self, *args, dry_run: bool = False, **options):
        result = purge_expired(
            now=timezone.now(), actor_kind=PurgeLog.Actor.COMMAND, dry_run=dry_run, progress=ProgressBar(self.stdout)
        )
        log = result.log
        verb = "would delete" if dry_run else "deleted"
        counts = result.counts
        history = sum(n for table, n in counts.items() if "_historical" in table)
        redacted = sum(n for table, n in counts.items() if table.endswith("(redacted)"))
        total = sum(counts.values()) - history - redacted
        self.stdout.write(
            self.style.SUCCESS(
                f"Purge {verb} {total} records and {history} history rows, and redacted {redacted} batch items "
                f"(cutoff {log.cutoff.isoformat() if log.cutoff else 'none'}; {log.reason}). PurgeLog #{log.pk}."
            )
        )
        for table, n in sorted(result.counts.items()):
            self.stdout.write(f"  {table}: {n}")
