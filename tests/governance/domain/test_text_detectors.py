"""The Auditor's text detectors (scope.semantic, claims.unsupported) and their embedding model, without a database."""

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from governance.domain.detectors import embedding, measure
from governance.domain.detectors.embedding import EmbeddingModelUnavailable, embedding_model
from governance.domain.detectors.text import (
    CLAIMS_SHARE_DEFAULT,
    CLAIMS_SUPPORT_SIMILARITY_DEFAULT,
    SCOPE_THRESHOLD_DEFAULT,
    claim_sentences,
    claims_support,
    claims_unsupported,
    output_text,
    scope_drift,
    scope_semantic,
)

ROOT = Path(__file__).resolve().parents[3]

INSTRUCTIONS = (
    "Summarise the company's third-quarter results for an internal newsletter: revenue, margin, cash and guidance."
)
SOURCES = [
    "Northwind Logistics reported third-quarter revenue of 412 million dollars, up 6 percent from a year earlier, "
    "driven by growth in cold-chain freight. Operating margin was 8.3 percent, compared with 9.1 percent in the "
    "same quarter last year, as fuel and labour costs rose.",
    "The company ended the quarter with 96 million dollars in cash. Northwind narrowed its full-year revenue "
    "guidance to between 1.62 and 1.66 billion dollars.",
]
ON_TASK = (
    "Northwind's third-quarter revenue rose 6 percent to 412 million dollars, led by cold-chain freight. Operating "
    "margin slipped to 8.3 percent from 9.1 percent as fuel and labour costs rose. Cash at the end of the quarter "
    "was 96 million dollars, and full-year guidance was narrowed to 1.62 to 1.66 billion dollars."
)
OFF_TOPIC = (
    "Preheat the oven to 180 degrees. Cream the butter and sugar until pale, beat in the eggs one at a time, fold "
    "in the flour and bake for 25 minutes until golden."
)

# The figures docs/governance.md reports for the defaults ("Text detectors"); a regression of more than the margin
# (about one item in thirty) fails here.
REPORTED = {
    "scope.semantic": (0.933, 0.966),
    "claims.unsupported": (0.900, 0.978),
    "claims.unsupported (on-task outputs)": (0.808, 0.955),
}
MARGIN = 0.03


@pytest.fixture(scope="module")
def model():
    return embedding_model()


# scope.semantic ----------------------------------------------------------------------------------------------------


def test_an_off_topic_output_scores_as_scope_drift(model):
    found = scope_semantic(INSTRUCTIONS, OFF_TOPIC, model=model, sources=SOURCES)

    assert found is not None
    drift, evidence = found
    assert drift >= SCOPE_THRESHOLD_DEFAULT
    assert evidence["threshold"] == SCOPE_THRESHOLD_DEFAULT
    assert evidence["similarity"] <= 1 - drift + 1e-3  # drift = 1 - similarity, clipped to [0, 1]
    assert evidence["output_excerpt"].startswith("Preheat the oven")


def test_an_on_topic_output_is_no_scope_drift(model):
    assert scope_semantic(INSTRUCTIONS, ON_TASK, model=model, sources=SOURCES) is None
    drift, _ = scope_drift(INSTRUCTIONS, ON_TASK, model=model, sources=SOURCES)
    assert drift < SCOPE_THRESHOLD_DEFAULT - 0.2


def test_a_finding_is_due_when_the_drift_reaches_the_threshold_not_below_it(model):
    drift, _ = scope_drift(INSTRUCTIONS, ON_TASK, model=model, sources=SOURCES)

    assert scope_semantic(INSTRUCTIONS, ON_TASK, threshold=drift, model=model, sources=SOURCES) is not None
    assert scope_semantic(INSTRUCTIONS, ON_TASK, threshold=drift + 0.01, model=model, sources=SOURCES) is None


def test_the_scope_evidence_puts_the_sentence_that_strays_first(model):
    output = (
        "Northwind's revenue rose 6 percent to 412 million dollars. Meanwhile the cathedral choir will sing Handel's "
        "Messiah at the Christmas concert, with tickets on sale at the box office."
    )
    drift, evidence = scope_semantic(INSTRUCTIONS, output, threshold=0.0, model=model, sources=SOURCES)

    least = evidence["least_related_sentences"]
    assert [s["sentence"][:28] for s in least] == ["Meanwhile the cathedral choi", "Northwind's revenue rose 6 p"]
    assert least[0]["similarity"] < least[1]["similarity"]


def test_the_sources_tell_the_task_apart_from_a_bare_instruction(model):
    """The sources carry the task's subject: a faithful summary sits closer to instructions plus sources."""
    with_sources, _ = scope_drift(INSTRUCTIONS, ON_TASK, model=model, sources=SOURCES)
    bare, _ = scope_drift(INSTRUCTIONS, ON_TASK, model=model)

    assert with_sources < bare


@pytest.mark.parametrize(
    ("instructions", "output"), [("", ON_TASK), ("   ", ON_TASK), (INSTRUCTIONS, ""), (INSTRUCTIONS, None)]
)
def test_scope_judges_nothing_without_instructions_or_output(model, instructions, output):
    assert scope_drift(instructions, output, model=model) is None
    assert scope_semantic(instructions, output, threshold=0.0, model=model) is None


def test_a_json_output_is_judged_by_its_fields_and_values():
    assert output_text({"category": "billing", "priority": 1, "tags": ["refund", None]}) == (
        "category: billing\npriority: 1\ntags: refund"
    )
    assert output_text('{"summary": "Double charge"}') == "summary: Double charge"
    assert output_text('{"summary": "Double ch') == '{"summary": "Double ch'  # not JSON: judged as it is


# claims.unsupported ------------------------------------------------------------------------------------------------


def test_an_unsupported_claim_is_found(model):
    output = (
        "Revenue rose 6 percent to 412 million dollars. The company also announced that its chief executive will "
        "resign and that a rival will take over its trucking division."
    )
    found = claims_unsupported(output, SOURCES, model=model)

    assert found is not None
    share, evidence = found
    assert share == 0.5
    assert (evidence["sentences"], evidence["unsupported"]) == (2, 1)
    assert evidence["unsupported_sentences"][0]["sentence"].startswith("The company also announced")
    assert evidence["unsupported_sentences"][0]["similarity"] < CLAIMS_SUPPORT_SIMILARITY_DEFAULT
    assert evidence["threshold"] == CLAIMS_SHARE_DEFAULT


def test_a_supported_output_is_not_found(model):
    assert claims_unsupported(ON_TASK, SOURCES, model=model) is None


def test_a_figure_the_sources_do_not_give_makes_its_sentence_unsupported(model):
    """An embedding cannot tell 455 from 412; the figures check can."""
    share, evidence = claims_unsupported(
        "Northwind's third-quarter revenue rose 14 percent to 455 million dollars.", SOURCES, model=model
    )

    assert share == 1.0
    [sentence] = evidence["unsupported_sentences"]
    assert sentence["similarity"] >= CLAIMS_SUPPORT_SIMILARITY_DEFAULT  # close in meaning, wrong in figures
    assert sentence["figures_not_in_sources"] == ["14", "455"]


def test_figures_are_compared_as_numbers_not_strings(model):
    sources = ["The invoice total is 5,000.00 euros, due within 30 days."]
    output = "The invoice total is 5000 euros and it is due within 30 days."

    assert claims_unsupported(output, sources, model=model) is None


def test_figures_in_words_support_the_same_figures_in_digits(model):
    sources = ["Take one or two tablets every four to six hours. Forty-two parking spaces will be removed."]

    assert claims_unsupported("Take 1 or 2 tablets every 4 to 6 hours.", sources, model=model) is None
    assert claims_unsupported("42 parking spaces will be removed.", sources, model=model) is None
    _, evidence = claims_unsupported("41 parking spaces will be removed.", sources, model=model)
    assert evidence["unsupported_sentences"][0]["figures_not_in_sources"] == ["41"]


def test_one_alone_in_a_claim_is_a_word_not_a_figure(model):
    sources = ["The council approved the bike lane by 23 votes to 14."]

    def figures_missing(output):  # with no similarity needed, only the figures decide
        _, evidence = claims_support(output, sources, model=model, support_similarity=-1.0)
        return [s.get("figures_not_in_sources") for s in evidence["unsupported_sentences"]]

    assert figures_missing("The lane was approved by 23 votes to 14, and no one abstained.") == []
    assert figures_missing("The lane was approved by 23 votes to 14, and 1 member abstained.") == [["1"]]


def test_a_share_below_the_threshold_is_no_finding(model):
    output = ON_TASK + " The board also plans to open an office on the Moon."
    assert claims_unsupported(output, SOURCES, model=model) is None  # one claim in four: 0.25 < 0.30
    assert claims_unsupported(output, SOURCES, threshold=0.25, model=model) is not None


@pytest.mark.parametrize(
    ("output", "sources"), [(ON_TASK, []), (ON_TASK, None), (ON_TASK, ["", "  "]), ("", SOURCES), (None, SOURCES)]
)
def test_claims_judges_nothing_without_sources_or_output(model, output, sources):
    assert claims_unsupported(output, sources, threshold=0.0, model=model) is None


def test_greetings_apologies_and_headings_make_no_claim():
    output = (
        "Summary:\nDear Dana, I am sorry for the delay.\nThank you for your patience.\nWhat's new in 3.4\n"
        "- Reply: Dear Dana, your refund of 89.00 euros is on its way."
    )

    assert claim_sentences(output) == ["your refund of 89.00 euros is on its way."]


# The labelled set ---------------------------------------------------------------------------------------------------


def test_the_labelled_set_covers_every_label():
    data = measure.load_labelled_set()
    labels = [(name, value) for item in data["items"] for name, value in item["labels"].items()]
    tasks = {task["id"] for task in data["tasks"]}

    assert len(data["items"]) >= 60
    assert {item["task"] for item in data["items"]} <= tasks
    for pair in [
        ("scope", "on_task"),
        ("scope", "off_task"),
        ("claims", "supported"),
        ("claims", "unsupported"),
        ("format", "wellformed"),
        ("format", "malformed"),
    ]:
        assert labels.count(pair) >= 5, pair


def test_on_the_labelled_set_precision_and_recall_hold_the_reported_figures(model):
    measured = measure.measure_text_detectors(measure.load_labelled_set(), model=model)

    for name, (precision, recall) in REPORTED.items():
        assert measured[name].precision >= precision - MARGIN, (name, measured[name])
        assert measured[name].recall >= recall - MARGIN, (name, measured[name])


def test_the_defaults_beat_their_neighbours_on_the_labelled_set(model):
    """The default drift threshold is the sweep's best F1 within 0.05 either side (the choice the docs explain)."""
    rows = measure.scope_scores(measure.load_labelled_set(), model=model)
    f1 = {t: measure.confusion("scope", rows, t).f1 for t in (0.55, 0.60, SCOPE_THRESHOLD_DEFAULT, 0.70, 0.75)}

    assert max(f1, key=f1.get) == SCOPE_THRESHOLD_DEFAULT


# The model ----------------------------------------------------------------------------------------------------------


def test_the_model_is_loaded_once_per_process():
    first = embedding_model()
    started = time.perf_counter()
    second = embedding_model()

    assert second is first
    assert time.perf_counter() - started < 0.01


def test_threads_asking_at_once_share_one_load(monkeypatch):
    loads = []

    def slow_load():
        loads.append(1)
        time.sleep(0.05)
        return object()

    monkeypatch.setattr(embedding, "_model", None)
    monkeypatch.setattr(embedding, "_load", slow_load)
    got = []
    threads = [threading.Thread(target=lambda: got.append(embedding_model())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(loads) == 1
    assert len(got) == 8 and all(m is got[0] for m in got)


def test_a_missing_package_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(embedding, "_model", None)
    monkeypatch.setitem(sys.modules, "wordllama", None)  # import wordllama now raises ImportError

    with pytest.raises(EmbeddingModelUnavailable, match="wordllama"):
        embedding_model()


def test_the_model_loads_with_the_network_cut_off():
    """A fresh process whose sockets refuse to connect imports and loads the model, and it embeds; the project's
    logging is left as it was (wordllama calls logging.basicConfig on import)."""
    script = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.socket.connect_ex = refuse\n"
        "socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "import logging\n"
        "from governance.domain.detectors.embedding import embedding_model\n"
        "print(embedding_model().embed(['offline'], norm=True).shape)\n"
        "assert logging.getLogger().handlers == [], 'wordllama configured the root logger'\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(1, 256)"
    assert "network used" not in done.stderr
