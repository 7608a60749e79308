"""Hard-negative mining: negatives come from the requested rank window, chunking is exact."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer

from conftest import TINY_CORPUS
from tripletforge.models.prompts import encode_with_prompt, symmetric_prompt
from tripletforge.train import MineConfig
from tripletforge.train.mine import mine_negatives

PAIRS = [{"anchor": a, "positive": p, "lang": "eng"}
         for a, p in zip(TINY_CORPUS[:6], TINY_CORPUS[6:12], strict=True)]  # fmt: skip
CORPUS = [f"{s} again" for s in TINY_CORPUS] + ["Something else entirely.", "One more line."]


def test_negatives_within_range_and_chunking_exact(tiny_encoder_dir: Path) -> None:
    model = SentenceTransformer(str(tiny_encoder_dir), device="cpu")
    cfg = MineConfig(range_min=1, range_max=4, relative_margin=None, num_negatives=1)
    mined = mine_negatives(PAIRS, CORPUS, model, cfg)
    assert len(mined) == len(PAIRS)
    corpus = list(dict.fromkeys(CORPUS + [p["positive"] for p in PAIRS]))
    prompt = symmetric_prompt(model)  # the policy: mining compares texts symmetrically
    assert prompt.text == ""  # no prompt for the e5-style model (as mteb encodes STS)
    kw = {"convert_to_tensor": True, "normalize_embeddings": True}
    docs = encode_with_prompt(model, corpus, prompt, **kw)
    for row in mined:
        assert row["negative"] in corpus and row["negative"] != row["positive"]
        query = encode_with_prompt(model, [row["anchor"]], prompt, **kw)[0]
        order = [corpus[i] for i in torch.argsort(docs @ query, descending=True).tolist()]
        order.remove(row["positive"])
        assert 1 <= order.index(row["negative"]) < 4  # skip the top 1, keep ranks 1..3
        assert row["lang"] == "eng" and row["negative_score"] <= 1.0
    chunked = mine_negatives(PAIRS, CORPUS, model, cfg.model_copy(update={"chunk_size": 2}))
    assert [r["negative"] for r in chunked] == [r["negative"] for r in mined]


def test_absolute_margin_keeps_negatives_below_positive(tiny_encoder_dir: Path) -> None:
    model = SentenceTransformer(str(tiny_encoder_dir), device="cpu")
    cfg = MineConfig(range_min=0, range_max=10, relative_margin=None, absolute_margin=0.0)
    for row in mine_negatives(PAIRS, CORPUS, model, cfg):
        assert row["negative_score"] <= row["positive_score"]


def test_mine_cli_writes_triplets_and_counts_bad_lines(
    tiny_encoder_dir: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from tripletforge.cli.main import app
    from tripletforge.data.triplets import read_triplets

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(
        "".join(json.dumps(p) + "\n" for p in [*PAIRS, {"anchor": " ", "positive": "x"}])
    )
    corpus = tmp_path / "corpus.txt"
    corpus.write_bytes("\n".join(CORPUS).encode() + b"\n\n\xff\xfe broken\n")
    out = tmp_path / "mined.jsonl"
    args = ["mine", str(pairs), str(corpus), "-o", str(out), "--model", str(tiny_encoder_dir),
            "--range-min", "0", "--range-max", "5", "--chunk-size", "2",
            "--relative-margin", "-1"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows, report = read_triplets(out)
    assert len(rows) == len(PAIRS) and report.rows_kept == len(PAIRS), result.output
    assert all(r["negative"] != r["positive"] for r in rows)
    output = " ".join(result.output.split())
    assert f"{pairs}:{len(PAIRS) + 1}: empty text: anchor" in output
    assert f"{corpus}:{len(CORPUS) + 2}: invalid UTF-8" in output
    assert f"{corpus}:{len(CORPUS) + 1}: empty line" in output


def test_mine_cli_never_returns_a_variant_of_the_positive_or_anchor(
    tiny_encoder_dir: Path, tmp_path: Path
) -> None:
    """Issue 13.9: a case/punctuation variant of the positive is not its hard negative."""
    from typer.testing import CliRunner

    from tripletforge.cli.main import app
    from tripletforge.data.text import text_key
    from tripletforge.data.triplets import read_triplets

    pairs = [
        {"anchor": "Uwa ta dafa abinci a kicin.", "positive": "Mahaifiya ta shirya abinci."},
        {"anchor": "Yara suna wasa a waje.", "positive": "Yara suna wasa."},
    ]
    variants = ["Mahaifiya ta shirya abinci", "MAHAIFIYA TA SHIRYA ABINCI!",
                "mahaifiya ta shirya, abinci", "Uwa ta dafa abinci a kicin", "yara suna wasa",
                "Yara suna wasa a waje"]  # fmt: skip
    others = ["Mota ta tsaya a hanya.", "Ruwa yana zuba sosai.", "Malam yana karatu."]
    (tmp_path / "pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))
    (tmp_path / "corpus.txt").write_text("\n".join(variants + others) + "\n")
    out = tmp_path / "mined.jsonl"
    for extra in (["--relative-margin", "-1"], []):  # with and without a margin
        args = ["mine", str(tmp_path / "pairs.jsonl"), str(tmp_path / "corpus.txt"), "-o", str(out),
                "--model", str(tiny_encoder_dir), "--range-min", "0", "--range-max", "6",
                *extra]  # fmt: skip
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        rows, _ = read_triplets(out)
        for row in rows:
            assert text_key(row["negative"]) not in {text_key(row["positive"]),
                                                     text_key(row["anchor"])}, row  # fmt: skip
        if not extra:
            continue
        assert len(rows) == len(pairs)  # the next candidate replaces a dropped variant
