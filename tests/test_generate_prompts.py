"""Prompts (chat template vs completion), few-shot pools and the icl strategy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import CHATML, tiny_tokenizer
from tripletforge.data.schemas import SeedSentence
from tripletforge.generate.pool import load_pool
from tripletforge.generate.prompts import PromptBuilder, render_prompt
from tripletforge.generate.strategies import (
    STRATEGIES,
    Strategy,
    StrategyContext,
    make_strategy,
)

SEED = SeedSentence(text="Yara suna wasa a waje.", lang="hau", seed_id="s-1")


def test_pool_shipped_and_user(tmp_path: Path) -> None:
    pool, report = load_pool()
    assert len(pool) == 300 and not report.bad_rows
    assert len({e.id for e in pool}) == 300 and all(e.lang == "eng" for e in pool)
    user = tmp_path / "pool.jsonl"
    user.write_text(
        json.dumps({"anchor": "A", "positive": "B", "negative": "C", "lang": "hau"})
        + "\n"
        + json.dumps({"anchor": "only anchor"})
        + "\n"
    )
    examples, report = load_pool(user)
    assert [(e.anchor, e.lang) for e in examples] == [("A", "hau")]
    assert report.skipped_by_reason == {"missing anchor, positive or negative": 1}


def test_chat_prompt_uses_the_tokenizer_template() -> None:
    shots, _ = load_pool()
    request = PromptBuilder(chat=True).request(
        seed_id="s",
        pass_="positive",
        anchor=SEED.text,
        anchor_lang="hau",
        out_lang="hau",
        shots=shots[:2],
        seed=1,
    )
    assert request.is_chat and len(request.messages or ()) == 10 and request.stop == ()
    assert request.prompt_id == "nli-positive-chat-v3"
    text = render_prompt(request, tiny_tokenizer(CHATML))
    assert text.startswith("<|im_start|>system\n") and text.count("<|im_start|>user") == 5
    assert text.endswith("(an entailment).<|im_end|>\n<|im_start|>assistant\n")
    assert "Premise (Hausa): Yara suna wasa a waje.\nWrite one Hausa sentence" in text
    assert f"<|im_start|>assistant\n{shots[0].positive}<|im_end|>" in text
    assert f"<|im_start|>assistant\n{shots[1].negative}<|im_end|>" in text
    with pytest.raises(ValueError, match="no chat template"):
        render_prompt(request, tiny_tokenizer(None))


def _common_prefix(a: str, b: str) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), len(a))


@pytest.mark.parametrize("chat", [True, False])
def test_passes_share_all_but_the_last_tokens(chat: bool) -> None:
    """Same shots: the positive and negative prompts differ only after the premise."""
    shots, _ = load_pool()
    builder = PromptBuilder(chat=chat)
    kw = {"seed_id": "s", "anchor": SEED.text, "anchor_lang": "hau", "out_lang": "hau"}
    pos, neg = (
        builder.request(pass_=p, shots=shots[:3], seed=1, **kw) for p in ("positive", "negative")
    )
    tok = tiny_tokenizer(CHATML)
    a, b = render_prompt(pos, tok), render_prompt(neg, tok)
    shared = _common_prefix(a, b)
    assert a[:shared].endswith(
        "Premise (Hausa): Yara suna wasa a waje.\n"
        + ("Write one Hausa sentence that is definitely " if chat else "")
    )
    assert max(len(a), len(b)) - shared < 120 and shared > 0.8 * len(a)


def test_completion_prompt_for_base_models() -> None:
    shots, _ = load_pool()
    builder = PromptBuilder(chat=False)
    request = builder.request(
        seed_id="s",
        pass_="negative",
        anchor=SEED.text,
        anchor_lang="hau",
        out_lang="eng",
        shots=shots[:3],
        seed=1,
    )
    text = render_prompt(request, tiny_tokenizer(CHATML))  # completion text is used verbatim
    assert text == request.text and "<|im_start|>" not in text
    assert text.endswith("Premise (Hausa): Yara suna wasa a waje.\nContradiction (English):")
    assert text.count("Contradiction (English):") == 4 and text.count("Entailment (English):") == 3
    assert request.stop == ("\n",) and request.prompt_id == "nli-negative-completion-v3"
    joint = builder.request(
        seed_id="s",
        pass_="joint",
        anchor=SEED.text,
        anchor_lang="hau",
        out_lang="hau",
        shots=shots[:1],
        seed=1,
    )
    assert "Contradiction (English): " + shots[0].negative in (joint.text or "")
    assert (joint.text or "").endswith("Entailment (Hausa):")


def test_icl_strategy_is_seeded_and_mode_aware(tmp_path: Path) -> None:
    assert isinstance(make_strategy("icl", StrategyContext(chat=True)), Strategy)
    mono = make_strategy("icl", StrategyContext(chat=False, k=4))
    a = mono.plan(SEED, ["positive", "negative"], anchor_seed=7, attempt=0)
    b = mono.plan(SEED, ["positive", "negative"], anchor_seed=7, attempt=0)
    c = mono.plan(SEED, ["positive", "negative"], anchor_seed=7, attempt=1)
    assert a == b and a != c
    assert [len(r.shot_ids) for r in a] == [4, 4] and a[0].seed != a[1].seed
    assert a[0].shot_ids == a[1].shot_ids != c[0].shot_ids  # shared per attempt (prefix reuse)
    own = make_strategy("icl", StrategyContext(chat=False, k=4, options={"shared_shots": False}))
    d = own.plan(SEED, ["positive", "negative"], anchor_seed=7, attempt=0)
    assert d[0].shot_ids != d[1].shot_ids and [r.seed for r in d] == [r.seed for r in a]
    assert a[0].text and "Entailment (Hausa):" in a[0].text
    cross = make_strategy("icl", StrategyContext(chat=False, k=2, mode="crosslingual"))
    assert "Entailment (English):" in (
        cross.plan(SEED, ["positive"], anchor_seed=7, attempt=0)[0].text or ""
    )
    # a user pool in the target language: only same-language shots, never the anchor itself
    pool = tmp_path / "pool.jsonl"
    rows = [{"id": "x", "anchor": SEED.text, "positive": "p", "negative": "n", "lang": "hau"}]
    rows += [
        {"id": f"h{i}", "anchor": f"a{i}", "positive": "p", "negative": "n", "lang": "hau"}
        for i in range(3)
    ]
    rows += [{"id": f"e{i}", "anchor": f"b{i}", "positive": "p", "negative": "n"} for i in range(5)]
    pool.write_text("".join(json.dumps(r) + "\n" for r in rows))
    user = make_strategy("icl", StrategyContext(chat=True, k=5, pool=str(pool)))
    (request,) = user.plan(SEED, ["negative"], anchor_seed=1, attempt=0)
    assert sorted(request.shot_ids) == ["h0", "h1", "h2"]
    with pytest.raises(ValueError, match="unknown strategy"):
        make_strategy("nope", StrategyContext(chat=True))
    assert "icl" in STRATEGIES
