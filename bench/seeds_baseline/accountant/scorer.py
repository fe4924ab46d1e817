# services/accountant/scorer.py, as in batch-10-accountant.txt, with the one fix it needs to run: the seed
# looks penalties up in the list it was given (`penalties.get(p, 0)`, an AttributeError on every call that
# has a penalty) instead of in the PENALTIES table. Its other bugs (a metric times itself instead of its
# weight) are kept: they do not crash, and they cost the same time.
from rules import PENALTIES  # fix


def calculate_score(metrics: dict, penalties: list):
    score = 0

    for k, weight in metrics.items():
        score += weight * metrics[k]

    for p in penalties:
        score += PENALTIES.get(p, 0)  # fix: was penalties.get(p, 0)

    return max(min(int(score), 100), 0)
