from django.core.management.base import BaseCommand
from django.utils import timezone

from governance.services.oversight import detectors_oversee
from governance.services.timers import silent_workers_sweep, timers_expire
from workforce.domain.actor import COMMAND


class Command(BaseCommand):
    help = (
        "End due cooldowns and suspensions, report silent workers, and switch to observe the detectors the Director "
        "overturns too often (the per-minute beat job's twin)."
    )

    def handle(self, *args, **options):
        now = timezone.now()
        expired = timers_expire(now=now, actor=COMMAND)
        silent = silent_workers_sweep(now=now, actor=COMMAND)
        observed = [s.detector for s in detectors_oversee(now=now, actor=COMMAND)]
        self.stdout.write(self.style.SUCCESS(f"{expired} timers ended, {silent} silent attempts reported."))
        for name in observed:
            self.stdout.write(self.style.WARNING(f"{name} switched to observe: overturned too often."))
