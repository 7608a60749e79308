"""Lean model storage: tensors equal to the base are stored once and hard-linked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from tripletforge.models.storage import INDEX, WEIGHTS, share_base_weights


def _fine_tuned(base: Path, out: Path, shift: float) -> Path:
    """A copy of ``base`` with every non-embedding weight moved (embeddings left as they are)."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(base), device="cpu")
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "word_embeddings" not in name:
                param.add_(shift)
    model.save(str(out))
    return out


def test_unchanged_tensors_are_stored_once_and_load_the_same(
    tiny_encoder_dir: Path, tmp_path: Path
) -> None:
    from sentence_transformers import SentenceTransformer

    texts = ["The cat sits on the mat.", "Yara suna wasa a waje."]
    store = tmp_path / "store"
    folders = [_fine_tuned(tiny_encoder_dir, tmp_path / f"m{i}", 0.01 * (i + 1)) for i in range(2)]
    before = [SentenceTransformer(str(f), device="cpu").encode(texts) for f in folders]
    done = [share_base_weights(f, tiny_encoder_dir, store, min_shared_fraction=0) for f in folders]
    assert all(d["shard"] == done[0]["shard"] and d["shared_bytes"] > 0 for d in done)
    for folder, expected in zip(folders, before, strict=True):
        assert (folder / INDEX).is_file() and not (folder / WEIGHTS).exists()
        shard = folder / "model-00002-of-00002.safetensors"
        assert shard.stat().st_ino == Path(done[0]["shard"]).stat().st_ino  # one copy on disk
        got = SentenceTransformer(str(folder), device="cpu").encode(texts)
        np.testing.assert_array_equal(got, expected)
    assert shard.stat().st_nlink == 3  # the store's file and both model folders


def test_a_model_unlike_its_base_is_left_alone(tiny_encoder_dir: Path, tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tiny_encoder_dir), device="cpu")
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.5)
    model.save(str(tmp_path / "other"))
    result = share_base_weights(
        tmp_path / "other", tiny_encoder_dir, tmp_path / "store", min_shared_fraction=0
    )
    assert result["shard"] is None and (tmp_path / "other" / WEIGHTS).is_file()
    assert not (tmp_path / "store").exists()
