"""The embedding cache, the caching encoder and model fingerprints."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from tripletforge.evaluate.cache import CachingEncoder, EmbeddingCache, text_hash
from tripletforge.evaluate.fingerprint import folder_fingerprint, model_fingerprint
from tripletforge.models.prompts import EncodePrompt


class CountingModel:
    """A fake encoder: deterministic vectors from (prompt, text), counting texts and calls."""

    def __init__(self) -> None:
        self.prompts = {"query": "query: ", "document": "passage: "}
        self.default_prompt_name = None
        self.calls = 0
        self.texts: list[str] = []

    def encode(self, texts, prompt=None, **kwargs):
        self.calls += 1
        self.texts += list(texts)
        prompt = prompt or ""
        out = []
        for text in texts:
            seed = int(hashlib.sha256((prompt + text).encode()).hexdigest()[:8], 16)
            out.append(np.random.default_rng(seed).normal(size=8))
        return np.asarray(out, dtype=np.float32)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRIPLETFORGE_HOME", str(tmp_path))
    return tmp_path


def test_cache_round_trip_and_idempotent_puts(home: Path) -> None:
    cache = EmbeddingCache("f" * 64)
    vec = np.arange(4, dtype=np.float32)
    cache.put_many("query: ", [(text_hash("a"), vec)])
    cache.put_many("query: ", [(text_hash("a"), vec + 1)])  # same key: ignored
    assert len(cache) == 1
    got = cache.get_many("query: ", [text_hash("a"), text_hash("b")])
    assert list(got) == [text_hash("a")]
    np.testing.assert_array_equal(got[text_hash("a")], vec)
    assert cache.get_many("passage: ", [text_hash("a")]) == {}
    assert cache.path.parent == home / "embeddings"


def test_second_encode_is_served_from_cache(home: Path) -> None:
    model = CountingModel()
    texts = ["b", "a", "b", "ccc"]
    first = CachingEncoder(model, EmbeddingCache("1" * 64)).encode(texts)
    assert model.texts.count("b") == 1  # duplicates encoded once
    calls = model.calls
    again = CachingEncoder(model, EmbeddingCache("1" * 64))
    second = again.encode(texts)
    assert model.calls == calls
    assert again.stats.cache_hits == 4 and again.stats.encoded == 0
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first[0], first[2])
    assert len(EmbeddingCache("1" * 64)) == 3


def test_prompts_are_cached_separately(home: Path) -> None:
    model = CountingModel()
    encoder = CachingEncoder(model, EmbeddingCache("2" * 64))
    q = encoder.encode(["x"], encoder.prompt_for("retrieval", "query"))
    d = encoder.encode(["x"], encoder.prompt_for("retrieval", "document"))
    plain = encoder.encode(["x"])  # symmetric (STS) prompt: none for this model
    again = CachingEncoder(model, EmbeddingCache("2" * 64)).encode(["x"], EncodePrompt("", None))
    assert model.calls == 3 and model.texts == ["x", "x", "x"]
    assert not np.allclose(q, d) and not np.allclose(q, plain)
    np.testing.assert_array_equal(plain, again)
    keys = {row[0] for row in _rows(EmbeddingCache("2" * 64))}
    assert keys == {"[query]query: ", "[document]passage: ", ""}


def _rows(cache: EmbeddingCache) -> list[tuple]:
    import sqlite3

    with sqlite3.connect(cache.path) as con:
        return con.execute("SELECT prompt, text_hash FROM embeddings").fetchall()


def test_encoder_without_cache_keeps_only_this_runs_vectors() -> None:
    model = CountingModel()
    encoder = CachingEncoder(model, cache=None)
    encoder.encode(["a", "b"])
    encoder.encode(["b", "a"])  # the run's in-memory vectors
    assert model.calls == 1 and encoder.stats.cache_hits == 2
    CachingEncoder(model, cache=None).encode(["a", "b"])  # a new run encodes again
    assert model.calls == 2


def test_folder_fingerprint_tracks_content_not_location(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"\x00" * 10)
    (folder / "README.md").write_text("ignored")
    first = folder_fingerprint(folder)
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    (copy / "README.md").write_text("changed, still ignored")
    assert folder_fingerprint(copy) == first
    (copy / "model.safetensors").write_bytes(b"\x01" * 10)
    assert folder_fingerprint(copy) != first


def test_fingerprint_of_a_loaded_model_follows_its_weights(home: Path, tiny_encoder_dir) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tiny_encoder_dir), device="cpu")
    before = model_fingerprint(model)
    assert model_fingerprint(model) == before
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    assert model_fingerprint(model) != before
    assert model_fingerprint(model, str(tiny_encoder_dir)) != before  # folder-based
