"""The prompt policy (tripletforge.models.prompts) is mteb's, checked against mteb itself."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from conftest import build_tiny_encoder
from tripletforge.evaluate.lazy import LazyEncoder
from tripletforge.models.prompts import (
    MTEB_TASK_TYPES,
    ST_DEFAULT_PROMPTS,
    EncodePrompt,
    encode_prompt,
    symmetric_prompt,
)

LAYOUTS = {
    "e5": ({"query": "query: ", "document": "passage: "}, None),
    "old-e5-default-query": ({"query": "query: ", "passage": "passage: "}, "query"),
    "task-type-keys": ({"STS": "sts: ", "Retrieval-query": "find: ", "document": "doc: "}, None),
    "none": ({}, None),
}
CASES = [(task, None) for task in MTEB_TASK_TYPES if task not in ("retrieval", "reranking")]
CASES += [(task, side) for task in ("retrieval", "reranking") for side in ("query", "document")]


class Prompted:
    def __init__(self, prompts: dict[str, str], default: str | None) -> None:
        self.prompts, self.default_prompt_name = prompts, default


def test_e5_protocol_prompts_only_retrieval() -> None:
    e5 = Prompted(*LAYOUTS["e5"])
    assert encode_prompt(e5, "retrieval", "query") == EncodePrompt("query: ", "query", "query")
    assert encode_prompt(e5, "reranking", "document").text == "passage: "
    for task in ("sts", "bitext", "classification", "clustering", "pair_classification"):
        assert encode_prompt(e5, task) == EncodePrompt("", None, None), task
    assert symmetric_prompt(e5).text == ""


def test_old_layout_with_a_default_prompt_prefixes_symmetric_tasks() -> None:
    old = Prompted(*LAYOUTS["old-e5-default-query"])
    assert encode_prompt(old, "sts").text == "query: "
    # sentence-transformers gives every model an empty "document" prompt, which mteb uses
    assert encode_prompt(old, "retrieval", "document").text == ""


def test_st_default_prompts_match_sentence_transformers() -> None:
    from sentence_transformers import SentenceTransformer

    defaults = SentenceTransformer._default_prompts
    assert {k: v or "" for k, v in defaults.items()} == ST_DEFAULT_PROMPTS


@pytest.fixture(scope="module", params=sorted(LAYOUTS))
def layout_model(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    prompts, default = LAYOUTS[request.param]
    folder = build_tiny_encoder(tmp_path_factory.mktemp(f"prompts-{request.param}"),
                                prompts=prompts, default_prompt_name=default)  # fmt: skip
    return folder


def test_policy_equals_what_mteb_wrapper_applies(layout_model: Path) -> None:
    """Record the prompt sentence-transformers resolves inside mteb's wrapper, per task type."""
    from mteb._create_dataloaders import _create_dataloader_from_texts
    from mteb.abstasks.task_metadata import TaskMetadata
    from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper
    from mteb.types import PromptType
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(layout_model), device="cpu")
    seen: list[str | None] = []
    original = model._resolve_prompt

    def record(prompt, prompt_name):
        resolved = original(prompt, prompt_name)
        seen.append(resolved or "")
        return resolved

    model._resolve_prompt = record
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wrapper = SentenceTransformerEncoderWrapper(model)
    lazy = LazyEncoder(str(layout_model), layout_model)
    for task, side in CASES:
        metadata = TaskMetadata(
            name="PromptProbe", description="probe", dataset={"path": "x", "revision": "1"},
            type=MTEB_TASK_TYPES[task], eval_langs=["eng-Latn"], main_score="x",
        )  # fmt: skip
        seen.clear()
        wrapper.encode(
            _create_dataloader_from_texts(["a text"], batch_size=4),
            task_metadata=metadata, hf_split="test", hf_subset="default",
            prompt_type=PromptType(side) if side else None, batch_size=4,
            show_progress_bar=False,
        )  # fmt: skip
        ours = encode_prompt(lazy, task, side)  # from the folder, without loading the model
        assert seen == [ours.text], (layout_model.name, task, side)
        assert encode_prompt(model, task, side) == ours
