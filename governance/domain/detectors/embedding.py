"""The text detectors' embedding model: wordllama's l2_supercat, loaded once per process, never from the network.

wordllama ships its weights (a 16 MB token-embedding table, 256 dimensions) and its tokenizer inside the wheel. Its
default load looks for them there first but may fall back to Hugging Face; pointing ``cache_dir`` at the installed
package and passing ``disable_download=True`` makes a missing file an error instead of a download. The Hugging Face
offline switches are set as well, in case a library underneath ever tries.

The model is read-only after loading (a numpy table and a Rust tokenizer), so threads share one instance.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any, Protocol

EMBEDDING_PACKAGE = "wordllama"
EMBEDDING_CONFIG = "l2_supercat"
EMBEDDING_DIM = 256


class EmbeddingModelUnavailable(RuntimeError):
    """The embedding model cannot be loaded (package missing or its bundled weights absent)."""


class Embedder(Protocol):
    """What the text detectors need from a model: unit vectors for a list of texts, one row each."""

    def embed(self, texts: list[str], norm: bool = ...) -> Any: ...


_lock = threading.Lock()
_model: Embedder | None = None


def embedding_model() -> Embedder:
    """The process's embedding model, loaded on first use (about 0.2 s) and shared by every caller after."""
    global _model
    model = _model
    if model is not None:
        return model
    with _lock:
        # Another thread may have loaded it while this one waited for the lock.
        if _model is None:
            _model = _load()
        return _model


def _load() -> Embedder:
    for flag in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
        os.environ.setdefault(flag, "1")
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        import wordllama
    except ImportError as exc:
        raise EmbeddingModelUnavailable(
            "The text detectors need the 'wordllama' package (pinned in requirements.txt): pip install -r "
            "requirements.txt"
        ) from exc
    finally:
        # wordllama calls logging.basicConfig() on import; keep the project's own logging configuration.
        root.handlers[:], root.level = handlers, level
    package_dir = Path(wordllama.__file__).parent
    try:
        return wordllama.WordLlama.load(
            config=EMBEDDING_CONFIG, dim=EMBEDDING_DIM, cache_dir=package_dir, disable_download=True
        )
    except FileNotFoundError as exc:
        raise EmbeddingModelUnavailable(
            f"wordllama's bundled {EMBEDDING_CONFIG} weights or tokenizer are missing under {package_dir}; "
            "reinstall the pinned wordllama wheel"
        ) from exc
