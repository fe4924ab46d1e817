# services/accountant/reputation.py, as in batch-10-accountant.txt.
def update_reputation(old_score, new_score):
    return int((old_score * 0.7) + (new_score * 0.3))
