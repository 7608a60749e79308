"""Generation tasks (nli, retrieval, paraphrase): registry, prompts, parsers, rows, resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from tripletforge.data.jsonl import read_jsonl
from tripletforge.data.schemas import seed_id_for
from tripletforge.data.tasks import TASK_SHAPES, task_shape
from tripletforge.generate import GenerationConfig, generate_triplets, rejected_path
from tripletforge.generate.backends import Backend
from tripletforge.generate.config import GenerateSettings
from tripletforge.generate.pool import load_pool
from tripletforge.generate.requests import GenerationRequest, SamplingParams
from tripletforge.generate.tasks import BUILTIN_TASKS, make_task, register_task, task_class
from tripletforge.generate.tasks.base import GenerationTask
from tripletforge.generate.tasks.retrieval import RetrievalRejection, check_query

SEEDS = [
    "Yara suna wasa a waje da safe.",
    "Manoma suna sayar da masara a kasuwa.",
    "Likita ya ba shi magani jiya.",
    "Ruwan sama ya yi yawa a arewa.",
]


def seed_file(tmp_path: Path, lines: Sequence[str] = SEEDS) -> Path:
    path = tmp_path / "seeds.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def seed_of(request: GenerationRequest) -> str:
    """The seed text of a completion prompt (its second-to-last line, after the label)."""
    return (request.text or "").splitlines()[-2].split("): ", 1)[1]


class TaskBackend(Backend):
    """Answers every task sensibly; seeds containing 'copy' get their own text back."""

    name = "scripted-tasks"

    def __init__(self) -> None:
        super().__init__()
        self.model_id = "scripted"
        self.supports_chat = False
        self.prompts: list[str] = []

    def generate(
        self, requests: Sequence[GenerationRequest], sampling: SamplingParams
    ) -> list[str]:
        out = []
        for r in requests:
            seed = seed_of(r)
            self.prompts.append(r.text or "")
            first = seed.split()[0]
            if "Likita" in seed:  # always copies its seed: rejected
                out.append(f" {seed}")
            elif r.pass_ == "query":
                out.append(f" Query: where do {first.lower()} go")
            else:
                out.append(f" {r.pass_} sentence about {first}.")
        return out


def test_registry_knows_the_shipped_tasks_and_their_shapes() -> None:
    assert set(BUILTIN_TASKS) <= {task_class(n).name for n in BUILTIN_TASKS}
    assert task_class("retrieval").passes == ("query",) and task_class("nli").supports_joint
    assert task_shape("retrieval").roles["anchor"] == "query"
    assert task_shape("paraphrase").symmetric and task_shape("nli").mteb_type == "STS"
    with pytest.raises(ValueError, match="unknown task 'summary'; known: nli, paraphrase"):
        task_class("summary")

    @register_task("tiny-plugin-task")
    class Plugin(GenerationTask):
        name = "tiny-plugin-task"
        passes = ("positive",)

    assert task_class("tiny-plugin-task") is Plugin and "tiny-plugin-task" in TASK_SHAPES
    with pytest.raises(ValueError, match="already registered"):
        register_task("tiny-plugin-task")(type("Other", (GenerationTask,), {"name": "x"}))


def test_settings_refuse_what_a_task_or_strategy_cannot_do() -> None:
    with pytest.raises(ValueError, match="writes only nli data, not task 'retrieval'"):
        GenerateSettings(
            task="retrieval",
            strategy="xlora",
            backend="transformers",
            mode="crosslingual",
            strategy_options={"positive_adapter": "a", "negative_adapter": "b"},
        )
    with pytest.raises(ValueError, match="task 'retrieval' has no joint prompt"):
        GenerateSettings(task="retrieval", joint=True)
    with pytest.raises(ValueError, match="unknown task"):
        GenerateSettings(task="qa")
    assert GenerateSettings(task="paraphrase").pool_name() == "paraphrase-en"
    assert GenerateSettings().pool_name() == "snli-en"


@pytest.mark.parametrize("name", BUILTIN_TASKS)
@pytest.mark.parametrize("chat", [True, False])
def test_each_task_prompts_in_both_formats(name: str, chat: bool) -> None:
    task = make_task(name, chat=chat)
    shots, report = load_pool(task.default_pool, columns=task.pool_columns)
    assert len(shots) >= 24 and not report.bad_rows
    requests = [
        task.request(
            seed_id="s",
            pass_=p,
            anchor="Yara suna wasa.",
            anchor_lang="hau",
            out_lang="eng",
            shots=shots[:2],
            seed=1,
        )
        for p in task.passes
    ]
    for request, pass_ in zip(requests, task.passes, strict=True):
        assert request.prompt_id.startswith(f"{name}-{pass_}-{'chat' if chat else 'completion'}")
        assert request.shot_ids == (shots[0].id, shots[1].id)
        assert shots[0].anchor in request.echo_texts and "" not in request.echo_texts
        if chat:
            assert request.messages[0]["role"] == "system"
            assert "(Hausa): Yara suna wasa.\n" in request.messages[-1]["content"]
        else:
            assert request.text.endswith("(English):") and request.stop[0] == "\n"
            assert "(Hausa): Yara suna wasa.\n" in request.text
    if len(requests) == 2:  # the two passes share their whole prompt but the last line
        first, second = requests
        if chat:
            assert first.messages[:-1] == second.messages[:-1]
            last = [r.messages[-1]["content"].rsplit("\n", 1)[0] for r in requests]
            assert last[0] == last[1]
        else:
            assert first.text.rsplit("\n", 1)[0] == second.text.rsplit("\n", 1)[0]


def test_retrieval_parser_rules() -> None:
    task = make_task("retrieval", chat=True)
    passage = "Kasar Turkiya ta yi iyaka da tekuna guda uku a yamma da arewa."
    assert task.parse("query", "Query: where is Turkey?\n\nIt borders", passage)["query"].text == (
        "where is Turkey?"
    )
    copy = task.parse("query", passage.upper(), passage)["query"]
    assert copy.reason == "same_as_anchor"
    assert (
        check_query(f"tell me: {passage}", passage).reason
        == RetrievalRejection.QUERY_COPIES_PASSAGE
    )
    near = "Kasar Turkiya ta yi iyaka da tekuna guda biyu a yamma da arewa."
    assert check_query(near, passage).reason == "query_copies_passage"
    long = " ".join(["word"] * 33)
    assert check_query(long, passage + " " + long).reason == "query_too_long"
    assert check_query("a b c d e f g h i", "Short passage here.").reason == "query_too_long"
    assert check_query("a b c d e f g h", "Short passage here.").ok


@pytest.mark.parametrize("name", BUILTIN_TASKS)
def test_each_task_writes_its_rows_with_provenance(tmp_path: Path, name: str) -> None:
    out = tmp_path / f"{name}.jsonl"
    config = GenerationConfig(seed_file=seed_file(tmp_path), out=out, lang="hau", task=name,
                              mode="crosslingual", k=1, max_attempts=2, progress=False)  # fmt: skip
    backend = TaskBackend()
    stats = generate_triplets(config, backend=backend)
    rows, _ = read_jsonl(out)
    (bad,), _ = read_jsonl(rejected_path(out))
    assert len(rows) == 3 and bad["anchor"] == SEEDS[2] and stats.rejected == 1
    task = task_class(name)
    assert all(r["task"] == name for r in [*rows, bad])
    assert {r["prompt_id"] for r in rows} == {
        "+".join(f"{name}-{p}-completion-{task.prompt_version}" for p in task.passes)
    }
    row = rows[0]
    assert all(row[f"raw_{p}"] for p in task.passes) and set(row["shot_ids"]) == set(task.passes)
    if name == "retrieval":
        assert row["anchor"] == "where do yara go" and row["positive"] == SEEDS[0]
        assert "negative" not in row  # mined afterwards
        assert (row["lang"], row["positive_lang"]) == ("eng", "hau")
        assert stats.rejections == {"same_as_anchor": 2}
        assert (
            "Passage (Hausa): Yara suna wasa a waje da safe.\nQuery (English):"
            in (backend.prompts[0])
        )
    else:
        assert row["anchor"] == SEEDS[0]
        assert row["positive"] == "positive sentence about Yara."
        assert row["negative"] == "negative sentence about Yara."
        assert (row["lang"], row["positive_lang"]) == ("hau", "eng")
        assert stats.rejections == {"same_as_anchor": 4}


FAKE_PLUGIN = """
import os, time
from tripletforge.generate.backends import Backend, register_backend

class SlowBackend(Backend):
    name = "slow"

    def __init__(self, model, **options):
        super().__init__()
        self.model_id = "slow"

    def generate(self, requests, sampling):
        time.sleep(float(os.environ.get("SLOW_DELAY", "0")))
        out = []
        for r in requests:
            seed = r.text.splitlines()[-2].split("): ", 1)[1]
            out.append(f" {r.pass_} {seed.split()[0]} number {len(seed)} now.")
        return out

register_backend("slow", "slow_tf_backend:SlowBackend")
"""


@pytest.mark.parametrize("name", BUILTIN_TASKS)
def test_kill_minus_9_then_resume_per_task(tmp_path: Path, name: str) -> None:
    (tmp_path / "slow_tf_backend.py").write_text(FAKE_PLUGIN)
    seeds = seed_file(tmp_path, [f"Jumla ta {i} game da kasuwa." for i in range(12)])
    code = ("import sys, slow_tf_backend; from tripletforge.cli.main import app; "
            "sys.argv = ['tripletforge', *sys.argv[1:]]; app()")  # fmt: skip

    def command(out: Path) -> list[str]:
        return [sys.executable, "-c", code, "generate", "--seed-file", str(seeds), "--lang",
                "hau", "--task", name, "--backend", "slow", "--model", "slow", "--k", "1",
                "--prompt-format", "completion", "--chunk-size", "1", "--quiet",
                "-o", str(out)]  # fmt: skip

    path = os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "SLOW_DELAY": "0.3"}
    out = tmp_path / "killed.jsonl"
    proc = subprocess.Popen(command(out), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= 2:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_at_kill = out.read_bytes().count(b"\n")
    assert 2 <= done_at_kill < 12
    with open(out, "ab") as handle:  # a write cut off by the kill
        handle.write(b'{"anchor": "torn", "seed_id": "')
    env["SLOW_DELAY"] = "0"
    subprocess.run(command(out), env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)  # fmt: skip
    sys.path.insert(0, str(tmp_path))
    try:
        from slow_tf_backend import SlowBackend
    finally:
        sys.path.remove(str(tmp_path))
    sys.modules.pop("slow_tf_backend", None)
    reference = tmp_path / "whole.jsonl"
    whole = GenerationConfig(seed_file=seeds, out=reference, lang="hau", task=name, k=1,
                             prompt_format="completion", chunk_size=1, progress=False)  # fmt: skip
    generate_triplets(whole, backend=SlowBackend("slow"))
    rows, report = read_jsonl(out)
    expected, _ = read_jsonl(reference)
    assert not report.bad_rows and len(rows) == 12
    ids = [r["seed_id"] for r in rows]
    assert len(set(ids)) == 12 and set(ids) == {
        seed_id_for(f"Jumla ta {i} game da kasuwa.", "hau") for i in range(12)
    }
    strip = lambda r: {k: v for k, v in r.items() if k != "created_at"}  # noqa: E731
    assert sorted(map(str, map(strip, rows))) == sorted(map(str, map(strip, expected)))
    assert all(r["task"] == name for r in rows)
