"""The Auditor's text detectors: does the output stay on the task, and do its sentences rest on the sources?

Both are pure functions of their texts and an embedding model passed in (``embedding.embedding_model()`` in
production, anything with ``embed(texts, norm=True)`` in tests). Both scores read the same way: **0 is clean,
1 is worst, and a finding is due when the score reaches its threshold** (``score >= threshold``). Each function
returns ``(score, evidence)`` when a finding is due and ``None`` otherwise, including when there is nothing to judge.

The defaults below come from the labelled set in ``tests/data/detector_labelled_set.json``; the management command
``measure_detectors`` recomputes precision and recall and sweeps the thresholds. The figures are in
``docs/governance.md`` ("Text detectors"). A change to a rule or a default bumps its version, so findings name the
rule that produced them.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from governance.domain.detectors.embedding import Embedder

SCOPE_NAME = "scope.semantic"
SCOPE_VERSION = "1"
# Drift = 1 - cosine(task, output); a finding at drift >= this (similarity <= 0.35).
SCOPE_THRESHOLD_DEFAULT = 0.65

CLAIMS_NAME = "claims.unsupported"
CLAIMS_VERSION = "1"
# A sentence is supported when some source passage has cosine similarity >= this with it (and its figures appear
# in the sources); the score is the share of unsupported sentences, a finding at share >= CLAIMS_SHARE_DEFAULT.
CLAIMS_SUPPORT_SIMILARITY_DEFAULT = 0.45
CLAIMS_SHARE_DEFAULT = 0.30

# Sentences shorter than this (greetings, headings such as "Reply:") make no claim and are not judged.
CLAIM_MIN_WORDS = 4
# Evidence stays small: it is stored with every finding.
EXCERPT_CHARS = 280
EVIDENCE_SENTENCES = 5
# Outputs are bounded upstream; this caps the sentences embedded for one report, so detection stays fast.
MAX_SENTENCES = 200
MAX_PASSAGES = 2000
_BATCH = 32

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)])\s+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
_UNITS += "seventeen eighteen nineteen"
_ORDINALS = "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth"
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety"
_WORD_VALUES = {
    **{word: n for n, word in enumerate(_UNITS.split())},
    **{word: n for n, word in enumerate(_ORDINALS.split(), start=1)},
    **{word: 10 * n for n, word in enumerate(_TENS.split(), start=2)},
}


def _number_words(*, leaving_out: frozenset[str] = frozenset()) -> re.Pattern:
    words = sorted(set(_WORD_VALUES) - leaving_out, key=len, reverse=True)  # longest first: "sixteen" before "six"
    return re.compile(rf"\b({'|'.join(words)})(?:-({'|'.join(_UNITS.split()[1:10])}))?\b")


_NUMBER_WORD_SOURCE = _number_words()
# In a claim, "one" and "second" alone are more often a pronoun ("no one") or a moment than a figure; reading them
# would invent figures the sources lack. In a source, reading them only adds support.
_NUMBER_WORD_CLAIM = _number_words(leaving_out=frozenset({"one", "second"}))
# A leading label ("Summary:", "Action items:") and a salutation ("Dear Dana,") frame a sentence, not its claim.
_LABEL = re.compile(r"^[A-Z][\w'’ ]{0,24}:\s+")
_SALUTATION = re.compile(r"^(?:dear|hi|hello)\b[^,]{0,40},\s*", re.IGNORECASE)
# Courtesy formulas state nothing a source could support.
_COURTESY = re.compile(
    r"^(?:thank you|thanks|many thanks|please accept|(?:we|i) apologi[sz]e|(?:we are|we're|i am|i'm) "
    r"(?:very |so |truly |really )?sorry|sorry|kind regards|best regards|best wishes)\b",
    re.IGNORECASE,
)


def output_text(output: Any) -> str:
    """The worker's output as text: prose as it is, JSON (a value, or a string that parses as an object or array)
    as its leaves, one ``key: value`` line each; braces and quotes only blur an embedding."""
    if output is None:
        return ""
    if isinstance(output, str):
        if not output.lstrip().startswith(("{", "[")):
            return output
        try:
            output = json.loads(output)
        except ValueError:
            return output
    parts: list[str] = []
    _leaves(output, "", parts)
    return "\n".join(parts)


def _leaves(value: Any, key: str, parts: list[str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _leaves(v, str(k), parts)
    elif isinstance(value, list | tuple):
        for v in value:
            _leaves(v, key, parts)
    elif value is not None:
        # Keys name the fields ("priority: 1"); the model knows the words, not the braces.
        text = value if isinstance(value, str) else json.dumps(value)
        parts.append(f"{key.replace('_', ' ')}: {text}" if key else text)


def split_sentences(text: str) -> list[str]:
    """Sentences of a text: lines split at sentence ends, bullet markers stripped, blank pieces dropped."""
    sentences: list[str] = []
    for line in text.splitlines():
        line = _BULLET.sub("", line).strip()
        if line:
            sentences.extend(piece.strip() for piece in _SENTENCE_END.split(line) if piece.strip())
    return sentences


def claim_sentences(text: str) -> list[str]:
    """The sentences of an output that make a claim, at most MAX_SENTENCES.

    Dropped: headings (a line ending in a colon, or a short line without a full stop), courtesy formulas
    (thanks, apologies) and anything under CLAIM_MIN_WORDS words. Labels and salutations are cut off the front.
    """
    claims: list[str] = []
    for sentence in split_sentences(text):
        if sentence.endswith(":") or (len(sentence.split()) < 6 and sentence[-1] not in ".!?"):
            continue
        sentence = _SALUTATION.sub("", _LABEL.sub("", sentence))
        if len(sentence.split()) >= CLAIM_MIN_WORDS and not _COURTESY.match(sentence):
            claims.append(sentence)
    return claims[:MAX_SENTENCES]


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _unit_rows(model: Embedder, texts: list[str]) -> np.ndarray:
    """Unit vectors of the texts, in their order.

    The model pads every text of a batch to the longest one, so a whole output embedded with its sentences would
    cost each sentence the output's length: texts go in batches of similar length instead (shortest first).
    """
    import numpy as np  # here, not at the top: numpy comes with wordllama, and the registry imports this module

    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    batches: list[list[int]] = []
    for i in order:
        if batches and len(batches[-1]) < _BATCH and len(texts[i]) <= 2 * len(texts[batches[-1][0]]) + 40:
            batches[-1].append(i)
        else:
            batches.append([i])
    rows = np.zeros((len(texts), 0), dtype=np.float32)
    for batch in batches:
        vectors = np.asarray(model.embed([texts[i] for i in batch], norm=True), dtype=np.float32)
        if rows.shape[1] == 0:
            rows = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
        rows[batch] = vectors
    # A text with no known token embeds to zeros; normalising it gives NaN, which must not count as similar.
    return np.nan_to_num(rows, nan=0.0)


@functools.lru_cache(maxsize=64)
def _cached_rows(model: Embedder, texts: tuple[str, ...]) -> np.ndarray:
    """``_unit_rows`` for a task's own texts (its instructions and sources, the same for each of its reports),
    kept for the process's recent tasks. The array is shared: callers only read it."""
    rows = _unit_rows(model, list(texts))
    rows.setflags(write=False)
    return rows


def task_embeddings_forget() -> None:
    """Empty the cache of tasks' embeddings (for measuring a task's first report, and for tests)."""
    _cached_rows.cache_clear()


def _given(sources: Sequence[str] | None) -> list[str]:
    return [source for source in sources or () if source and source.strip()]


def _score(value: float) -> float:
    return round(min(1.0, max(0.0, value)), 4)


# scope.semantic ----------------------------------------------------------------------------------------------------


def scope_drift(
    instructions: str, output: Any, *, model: Embedder, sources: Sequence[str] | None = ()
) -> tuple[float, dict[str, Any]] | None:
    """How far the output strays from the task, in [0, 1], with its evidence; None when there is nothing to judge.

    The task is its instructions followed by its sources (the instructions say what to do, the sources carry
    the subject matter, and an on-task answer shares the subject). Static embeddings of a short instruction alone
    separate on- from off-task answers poorly (AUC 0.84 on the labelled set against 0.99 with the sources).
    """
    text = output_text(output).strip()
    if not instructions or not instructions.strip() or not text:
        return None
    reference = "\n".join([instructions, *_given(sources)])
    task_row = _cached_rows(model, (reference,))[0]
    similarity = float(_unit_rows(model, [text])[0] @ task_row)
    evidence = {
        "similarity": round(similarity, 4),
        "used_sources": len(reference) > len(instructions),
        "output_excerpt": excerpt(text),
    }
    return _score(1.0 - similarity), evidence


def scope_semantic(
    instructions: str,
    output: Any,
    *,
    threshold: float = SCOPE_THRESHOLD_DEFAULT,
    model: Embedder,
    sources: Sequence[str] | None = (),
) -> tuple[float, dict[str, Any]] | None:
    """The scope finding: ``(drift, evidence)`` when drift >= threshold, else None (also when nothing to judge).

    A finding's evidence adds the output's sentences least related to the task, so a reader sees where it strayed.
    """
    measured = scope_drift(instructions, output, model=model, sources=sources)
    if measured is None or measured[0] < threshold:
        return None
    drift, evidence = measured
    reference = "\n".join([instructions, *_given(sources)])
    sentences = [s for s in split_sentences(output_text(output)) if len(s.split()) >= CLAIM_MIN_WORDS]
    sentences = sentences[:MAX_SENTENCES]
    related = (_unit_rows(model, sentences) @ _cached_rows(model, (reference,))[0]).tolist() if sentences else []
    least = sorted(zip(sentences, related, strict=True), key=lambda pair: pair[1])[:EVIDENCE_SENTENCES]
    return drift, {
        **evidence,
        "threshold": threshold,
        "least_related_sentences": [{"sentence": excerpt(s, 200), "similarity": round(v, 4)} for s, v in least],
    }


# claims.unsupported ------------------------------------------------------------------------------------------------


def _numbers(text: str, *, words: re.Pattern = _NUMBER_WORD_CLAIM) -> set[str]:
    """The figures in a text, normalised so that 5,000.00 and 5000 compare equal (0,18 is read as 0.18), with
    numbers in words ("forty-two", "third") read as figures, so "3 options" matches "three options"."""
    found = set()
    for token in _NUMBER.findall(text):
        if _THOUSANDS.fullmatch(token):
            token = token.replace(",", "")
        elif "." not in token:
            token = token.replace(",", ".")
        try:
            found.add(f"{float(token):g}")
        except ValueError:  # a version such as 1.2.3 stays as written
            found.add(token)
    for tens, units in words.findall(text.lower()):
        found.add(f"{_WORD_VALUES[tens] + (_WORD_VALUES[units] if units else 0):g}")
    return found


def _passages(sources: Sequence[str]) -> list[str]:
    """Source sentences, then each pair of neighbours (a claim often joins two sentences of its source), at most
    MAX_PASSAGES (pairs go first). They are embedded once per task (``_cached_rows``)."""
    by_source = [split_sentences(source) for source in sources]
    passages = [sentence for sentences in by_source for sentence in sentences]
    passages += [f"{a} {b}" for sentences in by_source for a, b in zip(sentences, sentences[1:], strict=False)]
    return passages[:MAX_PASSAGES]


def claims_support(
    output: Any,
    sources: Sequence[str] | None,
    *,
    model: Embedder,
    support_similarity: float = CLAIMS_SUPPORT_SIMILARITY_DEFAULT,
) -> tuple[float, dict[str, Any]] | None:
    """The share of the output's claims (sentences of at least CLAIM_MIN_WORDS words) with no close support.

    A sentence is supported when its closest source passage has cosine similarity >= ``support_similarity`` and
    every figure in it appears somewhere in the sources (an embedding cannot tell 412 from 455, a string can).
    None when there are no sources, no output or no claim in it.
    """
    text = output_text(output).strip()
    sources = _given(sources)
    passages = _passages(sources)
    if not text or not passages:
        return None
    claims = claim_sentences(text)
    if not claims:
        return None
    source_numbers = set().union(*(_numbers(s, words=_NUMBER_WORD_SOURCE) for s in sources))
    similarity = _unit_rows(model, claims) @ _cached_rows(model, tuple(passages)).T
    best = similarity.argmax(axis=1)
    unsupported = []
    for i, claim in enumerate(claims):
        closest = float(similarity[i, best[i]])
        new_figures = sorted(_numbers(claim) - source_numbers)
        if closest < support_similarity or new_figures:
            unsupported.append(
                {
                    "sentence": excerpt(claim, 200),
                    "similarity": round(closest, 4),
                    "closest_source": excerpt(passages[best[i]], 200),
                    **({"figures_not_in_sources": new_figures} if new_figures else {}),
                }
            )
    share = len(unsupported) / len(claims)
    evidence = {
        "sentences": len(claims),
        "unsupported": len(unsupported),
        "support_similarity": support_similarity,
        "unsupported_sentences": unsupported[:EVIDENCE_SENTENCES],
    }
    return _score(share), evidence


def claims_unsupported(
    output: Any,
    sources: Sequence[str] | None,
    *,
    threshold: float = CLAIMS_SHARE_DEFAULT,
    model: Embedder,
    support_similarity: float = CLAIMS_SUPPORT_SIMILARITY_DEFAULT,
) -> tuple[float, dict[str, Any]] | None:
    """The claims finding: ``(share, evidence)`` when the unsupported share >= threshold, else None."""
    measured = claims_support(output, sources, model=model, support_similarity=support_similarity)
    if measured is None or measured[1]["unsupported"] == 0 or measured[0] < threshold:
        return None
    share, evidence = measured
    return share, {**evidence, "threshold": threshold}
