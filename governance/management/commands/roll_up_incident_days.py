from django.core.management.base import BaseCommand
from django.utils import timezone

from governance.services.dashboard import incident_days_rollup


class Command(BaseCommand):
    help = "Store the dashboard chart's per-day incident counts for closed days not yet counted (beat's nightly twin)."

    def handle(self, *args, **options):
        days = incident_days_rollup(now=timezone.now())
        self.stdout.write(self.style.SUCCESS(f"{days} days counted for the dashboard's incident chart."))
