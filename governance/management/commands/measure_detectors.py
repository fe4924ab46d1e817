from django.core.management.base import BaseCommand

from governance.domain.detectors import measure, text
from governance.domain.detectors.embedding import embedding_model


class Command(BaseCommand):
    help = (
        "Precision and recall of the Auditor's detectors on the labelled set (tests/data/detector_labelled_set.json) "
        "at their default thresholds; --sweep shows the thresholds around them, --timing the latency they add."
    )

    def add_arguments(self, parser):
        parser.add_argument("--sweep", action="store_true", help="Precision and recall over a range of thresholds.")
        parser.add_argument("--misjudged", action="store_true", help="List the items each detector gets wrong.")
        parser.add_argument("--timing", action="store_true", help="Milliseconds added per report, p50 and p99.")
        parser.add_argument("--rounds", type=int, default=20, help="Passes over the set for --timing (default 20).")

    def handle(self, *args, sweep=False, misjudged=False, timing=False, rounds=20, **options):
        data = measure.load_labelled_set()
        model = embedding_model()
        self.stdout.write(f"Labelled set: {len(data['items'])} outputs for {len(data['tasks'])} tasks.\n")
        measured = measure.measure_text_detectors(data, model=model)
        formats = measure.format_confusion(data)  # no threshold: any schema error is a finding
        self._table([*measured.values(), formats], first="detector", labels=[*measured, formats.detector])
        if sweep:
            self._sweeps(data, model)
        if misjudged:
            self._misjudged(data, model)
        if timing:
            self._timing(data, model, rounds)

    def _table(self, rows: list[measure.Measured], *, first: str, labels: list[str] | None = None) -> None:
        header = f"{first:<36} {'thresh':>6} {'items':>5} {'TP':>3} {'FP':>3} {'FN':>3} {'TN':>3}"
        self.stdout.write(f"{header}  P      R      F1")
        for i, m in enumerate(rows):
            name = labels[i] if labels else m.detector
            self.stdout.write(
                f"{name:<36} {m.threshold:>6.2f} {m.items:>5} {m.tp:>3} {m.fp:>3} {m.fn:>3} {m.tn:>3}  "
                f"{m.precision:.3f}  {m.recall:.3f}  {m.f1:.3f}"
            )
        self.stdout.write("")

    def _sweeps(self, data, model) -> None:
        self.stdout.write(f"Sweep: {text.SCOPE_NAME}, finding at drift >= threshold")
        scope_rows = measure.scope_scores(data, model=model)
        thresholds = measure.grid(0.50, 0.80, 0.05)
        self._table([measure.confusion(text.SCOPE_NAME, scope_rows, t) for t in thresholds], first="")
        for support in measure.grid(0.35, 0.65, 0.05):
            self.stdout.write(
                f"Sweep: {text.CLAIMS_NAME}, support similarity {support:.2f}, finding at unsupported share >= "
                "threshold (all outputs / on-task outputs)"
            )
            rows = measure.claims_scores(data, model=model, support_similarity=support)
            on_task = measure.claims_scores(data, model=model, support_similarity=support, on_task_only=True)
            shares = measure.grid(0.20, 0.50, 0.10)
            results = [measure.confusion(text.CLAIMS_NAME, r, s) for s in shares for r in (rows, on_task)]
            self._table(results, first="", labels=["all", "on-task"] * len(shares))

    def _misjudged(self, data, model) -> None:
        scope_rows = measure.scope_scores(data, model=model)
        support = text.CLAIMS_SUPPORT_SIMILARITY_DEFAULT
        claims_rows = measure.claims_scores(data, model=model, support_similarity=support)
        for name, rows, threshold in (
            (text.SCOPE_NAME, scope_rows, text.SCOPE_THRESHOLD_DEFAULT),
            (text.CLAIMS_NAME, claims_rows, text.CLAIMS_SHARE_DEFAULT),
        ):
            self.stdout.write(f"Misjudged by {name} at {threshold:.2f}:")
            for item_id, score, positive in measure.misjudged(rows, threshold):
                verdict = "missed" if positive else "false finding"
                self.stdout.write(f"  {item_id:<28} score {score:.3f}  {verdict}")
            self.stdout.write("")

    def _timing(self, data, model, rounds: int) -> None:
        self.stdout.write("Added per report (scope.semantic + claims.unsupported), in milliseconds:")
        for label, warm in (("a task's first report", False), ("later reports of a task", True)):
            t = measure.text_detection_latency(data, model=model, rounds=rounds, warm=warm)
            self.stdout.write(
                f"  {label:<26} p50 {t['p50_ms']:.2f}  p99 {t['p99_ms']:.2f}  max {t['max_ms']:.2f}  ({t['runs']} runs)"
            )
