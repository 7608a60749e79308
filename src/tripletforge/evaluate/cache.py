"""On-disk embedding cache and the caching encoder used by evaluation.

One SQLite file per model fingerprint under :func:`tripletforge.paths.embeddings_cache_dir`,
with one row per (prompt key, SHA-256 of the text) → float32 vector; the prompt key is the
prepended text, preceded by ``[query]``/``[document]`` for the two sides of retrieval
(:attr:`tripletforge.models.prompts.EncodePrompt.key`). A second table holds data-set scores
that a repeated evaluation reuses (:mod:`tripletforge.evaluate.score_cache`). A unique key
makes re-runs idempotent (no duplicate rows), and SQLite's locking makes concurrent runs safe.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tripletforge.models.prompts import (
    EncodePrompt,
    Role,
    encode_prompt,
    encode_with_prompt,
    symmetric_prompt,
)
from tripletforge.paths import embeddings_cache_dir

if TYPE_CHECKING:
    from rich.progress import Progress
    from sentence_transformers import SentenceTransformer

_CHUNK = 256  # texts per model.encode call (and per progress update)
_SQL_VARS = 900


def text_hash(text: str) -> str:
    """Hex SHA-256 of a text (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Vectors of one model, keyed by (prompt text, text hash)."""

    def __init__(self, fingerprint: str, root: str | Path | None = None) -> None:
        self.fingerprint = fingerprint
        folder = Path(root) if root is not None else embeddings_cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{fingerprint[:32]}.sqlite"
        with closing(self._connect()) as con, con:
            con.execute(
                "CREATE TABLE IF NOT EXISTS embeddings (prompt TEXT NOT NULL,"
                " text_hash TEXT NOT NULL, vector BLOB NOT NULL, UNIQUE (prompt, text_hash))"
            )
            con.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            con.execute("CREATE TABLE IF NOT EXISTS scores (key TEXT PRIMARY KEY, value TEXT)")
            con.execute("INSERT OR IGNORE INTO meta VALUES ('fingerprint', ?)", (fingerprint,))

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=60)
        con.execute("PRAGMA journal_mode=WAL")
        return con

    def get_many(self, prompt: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors among ``hashes`` (missing ones are absent from the result)."""
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        with closing(self._connect()) as con:
            for start in range(0, len(unique), _SQL_VARS):
                part = unique[start : start + _SQL_VARS]
                marks = ",".join("?" * len(part))
                query = "SELECT text_hash, vector FROM embeddings WHERE prompt = ? AND text_hash"
                rows = con.execute(f"{query} IN ({marks})", (prompt, *part))
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, prompt: str, items: Iterable[tuple[str, np.ndarray]]) -> None:
        """Store vectors; a key already present is left as is."""
        rows = [(prompt, key, np.asarray(v, dtype=np.float32).tobytes()) for key, v in items]
        with closing(self._connect()) as con, con:
            con.executemany("INSERT OR IGNORE INTO embeddings VALUES (?, ?, ?)", rows)

    def get_score(self, key: str) -> str | None:
        """A stored data-set result (JSON) under ``key``, if any (see ``score_cache``)."""
        with closing(self._connect()) as con:
            row = con.execute("SELECT value FROM scores WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put_score(self, key: str, value: str) -> None:
        """Store a data-set result (replacing one under the same key)."""
        with closing(self._connect()) as con, con:
            con.execute("INSERT OR REPLACE INTO scores VALUES (?, ?)", (key, value))

    def __len__(self) -> int:
        with closing(self._connect()) as con:
            return int(con.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])


@dataclass
class EncodeStats:
    """Counts of texts served from the cache vs encoded by the model."""

    requested: int = 0
    cache_hits: int = 0
    encoded: int = 0
    model_calls: int = 0
    seconds: float = 0.0


class CachingEncoder:
    """Encodes texts with a ``SentenceTransformer``, reading and writing an :class:`EmbeddingCache`.

    Every call names its :class:`~tripletforge.models.prompts.EncodePrompt` (the prompt policy
    of :mod:`tripletforge.models.prompts`); vectors are cached under the prompt's key. Duplicate
    texts are encoded once, vectors of this run are also kept in memory (so the cache-less
    mode does not encode twice), and misses are encoded longest-first in chunks, with a rich
    progress bar when ``progress`` is given.
    """

    def __init__(
        self,
        model: SentenceTransformer | Any,
        cache: EmbeddingCache | None = None,
        batch_size: int = 32,
        progress: Progress | None = None,
    ) -> None:
        self.model = model
        self.cache = cache
        self.batch_size = batch_size
        self.progress = progress
        self.stats = EncodeStats()
        self._memo: dict[tuple[str, str], np.ndarray] = {}

    def prompt_for(
        self, task_type: str, prompt_type: Role | None = None, task_name: str | None = None
    ) -> EncodePrompt:
        """The policy's prompt for this model on a task (see :func:`encode_prompt`)."""
        return encode_prompt(self.model, task_type, prompt_type, task_name)

    def encode(
        self, texts: Sequence[str], prompt: EncodePrompt | None = None, desc: str = "encoding"
    ) -> np.ndarray:
        """Embeddings ``(len(texts), d)`` (float32) of ``texts`` with ``prompt``.

        ``prompt`` defaults to the policy's symmetric (STS) prompt of the model.
        """
        import time

        started = time.perf_counter()
        if prompt is None:
            prompt = symmetric_prompt(self.model)
        key = prompt.key
        hashes = [text_hash(t) for t in texts]
        self.stats.requested += len(texts)
        vectors = {h: self._memo[(key, h)] for h in hashes if (key, h) in self._memo}
        missing = [h for h in dict.fromkeys(hashes) if h not in vectors]
        if self.cache is not None and missing:
            vectors.update(self.cache.get_many(key, missing))
        by_hash = dict(zip(hashes, texts, strict=True))
        misses = sorted((h for h in by_hash if h not in vectors), key=lambda h: -len(by_hash[h]))
        self.stats.cache_hits += sum(h in vectors for h in hashes)
        task = None
        if self.progress is not None and misses:
            task = self.progress.add_task(desc, total=len(misses))
        for start in range(0, len(misses), _CHUNK):
            part = misses[start : start + _CHUNK]
            emb = encode_with_prompt(
                self.model,
                [by_hash[h] for h in part],
                prompt,
                batch_size=self.batch_size,
                convert_to_numpy=True,
            )
            self.stats.model_calls += 1
            self.stats.encoded += len(part)
            new = list(zip(part, np.asarray(emb, dtype=np.float32), strict=True))
            vectors.update(new)
            if self.cache is not None:
                self.cache.put_many(key, new)
            if task is not None:
                self.progress.advance(task, len(part))
        if task is not None:
            self.progress.remove_task(task)
        for h in vectors:
            self._memo[(key, h)] = vectors[h]
        self.stats.seconds += time.perf_counter() - started
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([vectors[h] for h in hashes])
