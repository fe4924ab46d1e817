from django.core.management.base import BaseCommand
from django.utils import timezone

from governance.services.timers import silent_workers_sweep, timers_expire
from workforce.domain.actor import COMMAND


class Command(BaseCommand):
    help = "End due cooldowns and suspensions, and report silent workers (the per-minute beat job's twin)."

    def handle(self, *args, **options):
        now = timezone.now()
        expired = timers_expire(now=now, actor=COMMAND)
        silent = silent_workers_sweep(now=now, actor=COMMAND)
        self.stdout.write(self.style.SUCCESS(f"{expired} timers ended, {silent} silent attempts reported."))
