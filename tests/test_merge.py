"""Model merging: endpoints, self-merge, compatibility, methods, and the dev-only α search."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer

from tripletforge.merge import IncompatibleModelsError, merge_models, methods, search_alpha

TEXTS = ["Yara suna wasa a waje.", "The cat sits on the mat.", "Umwana arimo gukina."]


@pytest.fixture(scope="module")
def finetuned_dir(tiny_encoder_dir, tmp_path_factory):
    """The tiny encoder with every float parameter moved, standing in for a fine-tuned model."""
    model = SentenceTransformer(str(tiny_encoder_dir), device="cpu")
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.05 * torch.randn(param.shape, generator=generator))
    out = tmp_path_factory.mktemp("finetuned")
    model.save(str(out))
    return out


def _embed(path) -> np.ndarray:
    return SentenceTransformer(str(path), device="cpu").encode(TEXTS)


def test_linear_endpoints_reproduce_the_two_models_exactly(
    tiny_encoder_dir, finetuned_dir, tmp_path
):
    at_zero = merge_models(
        "linear", [str(finetuned_dir)], tmp_path / "a0", base=str(tiny_encoder_dir), alpha=0.0
    )
    at_one = merge_models(
        "linear", [str(finetuned_dir)], tmp_path / "a1", base=str(tiny_encoder_dir), alpha=1.0
    )
    np.testing.assert_array_equal(_embed(at_zero), _embed(tiny_encoder_dir))
    np.testing.assert_array_equal(_embed(at_one), _embed(finetuned_dir))
    record = json.loads((at_one / "tripletforge_merge.json").read_text())
    assert record["method"] == "linear" and record["alpha"] == 1.0


def test_linear_midpoint_lies_between(tiny_encoder_dir, finetuned_dir, tmp_path):
    mid = merge_models(
        "linear", [str(finetuned_dir)], tmp_path / "mid", base=str(tiny_encoder_dir), alpha=0.5
    )
    base = SentenceTransformer(str(tiny_encoder_dir)).state_dict()
    tuned = SentenceTransformer(str(finetuned_dir)).state_dict()
    merged = SentenceTransformer(str(mid)).state_dict()
    name = next(k for k, v in base.items() if v.is_floating_point())
    torch.testing.assert_close(merged[name], (base[name] + tuned[name]) / 2)


@pytest.mark.parametrize("method", ["average", "slerp"])
def test_merging_a_model_with_itself_returns_the_same_embeddings(finetuned_dir, tmp_path, method):
    out = merge_models(
        method, [str(finetuned_dir), str(finetuned_dir)], tmp_path / method, alpha=0.3
    )
    np.testing.assert_allclose(_embed(out), _embed(finetuned_dir), atol=1e-5)


def test_task_arithmetic_and_ties_with_one_model_and_full_density_give_that_model():
    base = {"w": torch.zeros(4, 4), "ids": torch.arange(4)}
    tuned = {"w": torch.randn(4, 4), "ids": torch.arange(4)}
    torch.testing.assert_close(methods.task_arithmetic(base, [tuned])["w"], tuned["w"])
    torch.testing.assert_close(methods.ties(base, [tuned], density=1.0)["w"], tuned["w"])
    assert torch.equal(methods.ties(base, [tuned])["ids"], base["ids"])


def test_ties_drops_small_deltas_and_disagreeing_signs():
    base = {"w": torch.zeros(4)}
    a = {"w": torch.tensor([1.0, 0.01, -2.0, 0.5])}
    b = {"w": torch.tensor([3.0, 0.02, 1.0, -0.5])}
    merged = methods.ties(base, [a, b], density=0.5)["w"]
    # top-2 magnitudes per model: a keeps {1, -2}, b keeps {3, 1}; signs elected: +, 0, -, 0
    torch.testing.assert_close(merged, torch.tensor([2.0, 0.0, -2.0, 0.0]))


def test_weighted_average_uses_weights():
    s1, s2 = {"w": torch.ones(2)}, {"w": 3 * torch.ones(2)}
    torch.testing.assert_close(methods.weighted_average([s1, s2], [3, 1])["w"], 1.5 * torch.ones(2))
    with pytest.raises(ValueError, match="weights"):
        methods.weighted_average([s1, s2], [1.0])


def test_different_pooling_is_refused_with_a_clear_error(tiny_encoder_dir, tmp_path):
    other = tmp_path / "cls"
    shutil.copytree(tiny_encoder_dir, other)
    config_path = other / "1_Pooling" / "config.json"
    config = json.loads(config_path.read_text())
    config.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    config_path.write_text(json.dumps(config))
    with pytest.raises(IncompatibleModelsError, match="1_Pooling"):
        merge_models("average", [str(tiny_encoder_dir), str(other)], tmp_path / "out")


def test_linear_needs_a_base(finetuned_dir, tmp_path):
    with pytest.raises(ValueError, match="base"):
        merge_models("linear", [str(finetuned_dir)], tmp_path / "x")


def test_search_respects_the_no_regression_constraint(tiny_encoder_dir, finetuned_dir):
    reference = SentenceTransformer(str(tiny_encoder_dir)).encode(TEXTS)
    tuned = SentenceTransformer(str(finetuned_dir)).encode(TEXTS)

    def scorer(model):
        # "hau" improves monotonically towards the fine-tuned model, "ary" degrades past α≈0.3.
        emb = model.encode(TEXTS)
        alpha = float(np.linalg.norm(emb - reference) / np.linalg.norm(tuned - reference))
        return {"hau": alpha, "ary": -max(alpha - 0.3, 0.0) * 3}

    free = search_alpha(str(tiny_encoder_dir), str(finetuned_dir), scorer, no_regression=False)
    guarded = search_alpha(str(tiny_encoder_dir), str(finetuned_dir), scorer, no_regression=True)
    assert free.alpha > guarded.alpha
    assert guarded.scores[str(guarded.alpha)]["ary"] >= guarded.scores["0.0"]["ary"]
    assert set(guarded.scores) == {str(a) for a in guarded.grid}


def _write_semrel(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["PairID,Text,Score"]
    lines += [f'p{i},"{a}\n{b}",{score}' for i, (a, b, score) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_search_reads_dev_files_only_even_with_a_planted_test_split(
    tiny_encoder_dir, finetuned_dir, tmp_path
):
    from tripletforge.merge.dev import SpearmanScorer, load_dev_sets, semrel_dev_files

    pairs = [
        (f"{a} {b}", f"{b} {a} {c}", s)
        for a, b, c, s in zip(
            ["cat", "dog", "yara", "ruwa", "gida", "mota"],
            ["sits", "runs", "wasa", "sha", "babba", "ja"],
            ["mat", "park", "waje", "yau", "nan", "sabo"],
            [0.9, 0.1, 0.5, 0.7, 0.3, 0.2],
            strict=True,
        )
    ]
    root = tmp_path / "semrel"
    _write_semrel(root / "Track_A" / "hau" / "hau_dev_with_labels.csv", pairs)
    files_before = semrel_dev_files(root, ["hau"])
    chosen_before = search_alpha(
        str(tiny_encoder_dir), str(finetuned_dir), SpearmanScorer(load_dev_sets(files_before))
    )
    # A test split whose gold scores are reversed would change the choice if it were read.
    reversed_pairs = [(a, b, 1.0 - s) for a, b, s in pairs]
    _write_semrel(root / "Track_A" / "hau" / "hau_test_with_labels.csv", reversed_pairs)
    _write_semrel(root / "Track_C" / "hau" / "hau_test.csv", reversed_pairs)
    files_after = semrel_dev_files(root, ["hau"])
    chosen_after = search_alpha(
        str(tiny_encoder_dir), str(finetuned_dir), SpearmanScorer(load_dev_sets(files_after))
    )
    assert files_after == files_before
    assert chosen_after.to_dict() == chosen_before.to_dict()
    # ...and it really would: scored on the planted file, every α measures differently.
    from tripletforge.data.readers import read_semrel

    planted = read_semrel(root / "Track_A" / "hau" / "hau_test_with_labels.csv", lang="hau")
    on_test = search_alpha(
        str(tiny_encoder_dir), str(finetuned_dir), SpearmanScorer({"hau": planted})
    )
    for alpha in on_test.grid:
        assert on_test.scores[str(alpha)]["hau"] == pytest.approx(
            -chosen_before.scores[str(alpha)]["hau"], abs=1e-6
        )


def test_test_splits_are_refused_for_selection(tmp_path):
    from tripletforge.merge.dev import TestSplitError, load_dev_sets, require_dev_split

    for name in ("hau_test_with_labels.csv", "stsb-de-test.csv", "eng.devtest"):
        with pytest.raises(TestSplitError):
            require_dev_split(tmp_path / name)
    with pytest.raises(TestSplitError):
        load_dev_sets({"hau": tmp_path / "hau_test.csv"})
    assert require_dev_split(tmp_path / "hau_dev_with_labels.csv").name.endswith("labels.csv")


def _dev_file(path, pairs):
    path.write_text("".join(json.dumps(dict(zip(("sentence1", "sentence2", "score"), p,
                                                 strict=True))) + "\n" for p in pairs))  # fmt: skip
    return path


def test_checkpoint_soup_averages_each_languages_best_logged_checkpoint(tiny_encoder_dir, tmp_path):
    """Training logs one dev score per language; merge averages each language's best checkpoint."""
    from typer.testing import CliRunner

    from conftest import TINY_CORPUS
    from tripletforge.cli.main import app
    from tripletforge.data.schemas import PairSet
    from tripletforge.data.triplets import write_triplets
    from tripletforge.merge.checkpoints import list_checkpoints, select_checkpoints
    from tripletforge.merge.dev import SpearmanScorer

    rows = [{"anchor": f"{a} {i}", "positive": TINY_CORPUS[(j + 1) % len(TINY_CORPUS)],
             "negative": TINY_CORPUS[(j + 5) % len(TINY_CORPUS)]}
            for i in range(3) for j, a in enumerate(TINY_CORPUS)]  # fmt: skip
    data = write_triplets(rows, tmp_path / "train.jsonl")
    # dev sentences differ from the training ones (the leakage check would drop overlaps)
    dev = [f"{t[:-1]}, as said." for t in TINY_CORPUS]
    pairs = [(dev[i], dev[(i * 7 + 3) % len(dev)], float(i % 5)) for i in range(len(dev))]
    dev_a = _dev_file(tmp_path / "a_dev.jsonl", pairs[: len(pairs) // 2])
    dev_b = _dev_file(tmp_path / "b_dev.jsonl", pairs[len(pairs) // 2 :])
    run = tmp_path / "run"
    args = ["train", str(data), "-o", str(run), "--model", str(tiny_encoder_dir),
            "--batch-size", "8", "--max-steps", "6", "--learning-rate", "1e-3",
            "--warmup-ratio", "0", "--eval-steps", "2", "--save-steps", "2", "--keep-checkpoints",
            "--dev", f"aaa={dev_a}", "--dev", f"bbb={dev_b}"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output

    checkpoints = list_checkpoints(run)
    assert [p.name for p in checkpoints] == ["checkpoint-2", "checkpoint-4", "checkpoint-6"]
    selection = select_checkpoints(run)
    assert selection.source == "training log" and set(selection.best) == {"aaa", "bbb"}
    # the logged score of a checkpoint is what a dev-only scorer measures on it
    ckpt = selection.best["aaa"]
    dev_set = PairSet(
        name="a",
        sentence1=[p[0] for p in pairs[: len(pairs) // 2]],
        sentence2=[p[1] for p in pairs[: len(pairs) // 2]],
        scores=[p[2] for p in pairs[: len(pairs) // 2]],
        lang="aaa",
    )
    rescored = SpearmanScorer({"aaa": dev_set})(SentenceTransformer(ckpt, device="cpu"))
    assert rescored["aaa"] == pytest.approx(selection.scores[ckpt]["aaa"], abs=1e-3)
    for lang, best in selection.best.items():
        assert selection.scores[best][lang] == max(s[lang] for s in selection.scores.values())

    out = tmp_path / "soup"
    result = CliRunner().invoke(app, ["merge", "average", "--from-checkpoints", str(run), "-o",
                                      str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Merged (average)" in result.output and "α" not in result.output  # α: linear, slerp
    chosen = [SentenceTransformer(c, device="cpu").state_dict() for c in selection.chosen]
    merged = SentenceTransformer(str(out), device="cpu").state_dict()
    for key, value in merged.items():
        if value.is_floating_point():
            expected = sum(c[key] for c in chosen) / len(chosen)
            assert torch.allclose(value, expected, atol=1e-6), key
    prov = json.loads((out / "tripletforge_merge.json").read_text())
    assert prov["checkpoint_selection"]["chosen"] == selection.chosen


def test_checkpoint_selection_without_logged_scores_needs_a_dev_scorer(tmp_path):
    from tripletforge.merge.checkpoints import select_checkpoints

    with pytest.raises(FileNotFoundError, match="--keep-checkpoints"):
        select_checkpoints(tmp_path)


def test_search_ignores_languages_whose_dev_score_is_undefined(tiny_encoder_dir, finetuned_dir):
    """Issue 13, item 6: an undefined (None) dev score never blocks or drives the choice."""
    calls = iter(range(100))

    def scorer(model):
        step = next(calls)
        return {"hau": 50.0 + step, "kin": None, "amh": None if step == 0 else 10.0}

    result = search_alpha(str(tiny_encoder_dir), str(finetuned_dir), scorer, grid=[0.5, 1.0])
    assert result.alpha == 1.0 and result.admissible == [0.0, 0.5, 1.0]
    assert result.mean == {"0.0": 50.0, "0.5": 51.0, "1.0": 52.0}  # over hau, defined everywhere
    assert result.ignored == ["amh", "kin"]

    def nothing(model):
        return {"hau": None}

    assert search_alpha(str(tiny_encoder_dir), str(finetuned_dir), nothing, grid=[1.0]).alpha == 0.0


def test_checkpoint_selection_skips_undefined_scores(tmp_path):
    from tripletforge.merge.checkpoints import select_checkpoints

    for step in (1, 2):
        ckpt = tmp_path / f"checkpoint-{step}"
        ckpt.mkdir()
        (ckpt / "model.safetensors").write_bytes(b"")
    history = [
        {
            "step": 1,
            "eval_dev_hau_spearman_cosine": 0.2,
            "eval_dev_kin_spearman_cosine": float("nan"),
        },
        {
            "step": 2,
            "eval_dev_hau_spearman_cosine": 0.1,
            "eval_dev_kin_spearman_cosine": float("nan"),
        },
    ]
    import json

    (tmp_path / "checkpoint-2" / "trainer_state.json").write_text(
        json.dumps({"log_history": history})
    )
    selection = select_checkpoints(tmp_path)
    assert selection.best == {"hau": str(tmp_path / "checkpoint-1")}  # kin: never defined


# --- per-language protection (issue 20, item 2) -------------------------------------------

#: dev scores by α: hau gains, kin loses 0.4 then 1.0, eng loses 0.2 then 0.1
PROTECT = {
    "0.0": {"hau": 50.0, "kin": 50.0, "eng": 50.0},
    "0.5": {"hau": 55.0, "kin": 49.6, "eng": 49.8},
    "1.0": {"hau": 60.0, "kin": 49.0, "eng": 49.9},
}


def test_tolerance_is_a_number_or_a_mapping_with_a_default():
    from tripletforge.merge import tolerance_for

    assert tolerance_for(0.5, "hau") == 0.5
    assert tolerance_for({"kin": 1.0, "*": 0.5}, "kin") == 1.0
    assert tolerance_for({"kin": 1.0, "*": 0.5}, "hau") == 0.5
    assert tolerance_for({"kin": 1.0}, "hau") == 0.0  # no "*": no slack


def test_a_language_with_a_bigger_tolerance_may_drop_that_much():
    from tripletforge.merge import choose_alpha

    uniform = choose_alpha(PROTECT, tolerance=0.5)
    assert uniform.alpha == 0.5 and uniform.admissible == [0.0, 0.5]
    # why not α = 1: kin would lose 1 point there, more than its 0.5
    assert uniform.best_mean_alpha == 1.0 and uniform.payers_alpha == 1.0
    assert uniform.payers == {"kin": 1.0} and uniform.serves_all
    assert "kin −1.00 (tolerance 0.5)" in uniform.verdict()
    assert uniform.tolerance == {"eng": 0.5, "hau": 0.5, "kin": 0.5}

    kin_may = choose_alpha(PROTECT, tolerance={"kin": 1.0, "*": 0.5})
    assert kin_may.alpha == 1.0 and kin_may.payers == {} and kin_may.payers_alpha is None
    assert kin_may.tolerance == {"eng": 0.5, "hau": 0.5, "kin": 1.0}
    assert "keeps every language within its tolerance" in kin_may.verdict()


def test_when_no_alpha_passes_the_guard_the_result_says_who_pays():
    from tripletforge.merge import choose_alpha

    # no "*": eng may lose nothing, and it loses a little at every α > 0
    result = choose_alpha(PROTECT, tolerance={"kin": 1.0})
    assert result.alpha == 0.0 and not result.serves_all
    assert result.payers_alpha == 1.0 and result.payers == {"eng": pytest.approx(0.1)}
    verdict = result.to_dict()["verdict"]
    assert verdict.startswith("one model cannot serve all languages") and "eng −0.10" in verdict
    # the best mean is the base's: the payers are those of the best α > 0
    worse = {"0.0": {"hau": 50.0, "kin": 50.0}, "0.5": {"hau": 50.2, "kin": 49.0},
             "1.0": {"hau": 50.1, "kin": 48.0}}  # fmt: skip
    result = choose_alpha(worse)
    assert result.best_mean_alpha == 0.0 and not result.serves_all
    assert result.payers_alpha == 0.5 and result.payers == {"kin": 1.0}
    # without the guard nobody is asked to pay
    free = choose_alpha(PROTECT, no_regression=False)
    assert free.alpha == 1.0 and free.serves_all and free.payers == {}


def test_search_alpha_takes_a_tolerance_per_language(tiny_encoder_dir, finetuned_dir):
    reference = SentenceTransformer(str(tiny_encoder_dir)).encode(TEXTS)
    tuned = SentenceTransformer(str(finetuned_dir)).encode(TEXTS)

    def scorer(model):
        emb = model.encode(TEXTS)
        alpha = float(np.linalg.norm(emb - reference) / np.linalg.norm(tuned - reference))
        return {"hau": 10 * alpha, "ary": -5 * max(alpha - 0.3, 0.0)}  # ary: −3.5 at α = 1

    grid = [0.0, 0.5, 1.0]
    strict = search_alpha(str(tiny_encoder_dir), str(finetuned_dir), scorer, grid=grid,
                          progress=False)  # fmt: skip
    assert strict.alpha == 0.0 and not strict.serves_all and set(strict.payers) == {"ary"}
    lenient = search_alpha(str(tiny_encoder_dir), str(finetuned_dir), scorer, grid=grid,
                           tolerance={"ary": 4.0}, progress=False)  # fmt: skip
    assert lenient.alpha == 1.0 and lenient.serves_all and lenient.tolerance["hau"] == 0.0


def test_cli_tolerance_is_one_number_or_lang_points():
    import typer
    from typer.testing import CliRunner

    from tripletforge.cli.main import app
    from tripletforge.cli.merge import _tolerance

    assert _tolerance(None) == 0.0 and _tolerance(["0.5"]) == 0.5
    assert _tolerance(["HAU=1", "*=0.5"]) == {"hau": 1.0, "*": 0.5}
    for bad, why in ((["-1"], "negative"), (["xx!=1"], "not a language code"),
                     (["hau=1", "0.5"], "LANG=POINTS")):  # fmt: skip
        with pytest.raises(typer.BadParameter, match=why):
            _tolerance(bad)
    result = CliRunner().invoke(app, ["merge", "linear", "-m", "x", "-o", "y", "--tolerance",
                                      "hau=-2"])  # fmt: skip
    assert result.exit_code == 2 and "negative" in result.output


def test_merge_judges_english_where_the_dev_data_has_it(tmp_path):
    from tripletforge.pipeline.config import DevSettings
    from tripletforge.pipeline.dev import judged_languages

    pairs = [("a b", "b a", 0.1), ("c d", "d c", 0.9), ("e f", "f e", 0.5)]
    _write_semrel(tmp_path / "Track_A" / "hau" / "hau_dev_with_labels.csv", pairs)
    semrel = DevSettings(format="semrel", root=str(tmp_path))
    assert judged_languages(semrel, ["hau", "kin"]) == ["hau", "kin"]  # no English dev file
    _write_semrel(tmp_path / "Track_A" / "eng" / "eng_dev_with_labels.csv", pairs)
    assert judged_languages(semrel, ["hau", "kin"]) == ["hau", "kin", "eng"]
    assert judged_languages(semrel, ["eng", "hau"]) == ["eng", "hau"]
    # SIB-200 dev retrieves each language's English translations: English has no score
    assert judged_languages(DevSettings(format="sib200"), ["hau"]) == ["hau"]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), {"hau": float("nan")}])
def test_tolerance_must_be_finite(bad):
    from tripletforge.merge.search import check_tolerance, parse_tolerance

    with pytest.raises(ValueError, match="not a finite number"):
        check_tolerance(bad)
    with pytest.raises(ValueError, match="not a finite number"):
        parse_tolerance(["nan"])


@pytest.mark.parametrize("items", [["abc"], ["hau=abc"], ["hau"], ["hau=1", "kin"]])
def test_command_line_tolerance_errors_say_what_to_write(items):
    from tripletforge.merge.search import parse_tolerance

    with pytest.raises(ValueError) as raised:
        parse_tolerance(items)
    message = str(raised.value)
    assert "could not convert" not in message and ("number" in message or "LANG=POINTS" in message)


def test_a_guard_vetoes_an_alpha_but_stays_out_of_the_mean():
    from tripletforge.merge import choose_alpha

    # the guard (retrieval, say) loses 3 points at α = 1 and 0.5 at α = 0.5
    guard = {"0.0": {"hau": 90.0, "kin": 90.0}, "0.5": {"hau": 89.5, "kin": 90.2},
             "1.0": {"hau": 87.0, "kin": 91.0}}  # fmt: skip
    free = choose_alpha(PROTECT, tolerance=1.0)
    assert free.alpha == 1.0
    guarded = choose_alpha(PROTECT, tolerance=1.0, guard_scores=guard, guard_tolerance=1.0)
    assert guarded.alpha == 0.5 and guarded.admissible == [0.0, 0.5]
    assert guarded.mean == free.mean  # the guard is never averaged in
    assert guarded.payers_alpha == 1.0 and guarded.payers == {"guard:hau": 3.0}
    assert "guard:hau −3.00 (tolerance 1)" in guarded.verdict()
    assert guarded.to_dict()["guard_scores"]["1.0"]["hau"] == 87.0
    with pytest.raises(ValueError, match="every α"):
        choose_alpha(PROTECT, guard_scores={"0.0": guard["0.0"]})
    for bad in (float("nan"), -5.0):
        with pytest.raises(ValueError, match="finite number"):
            choose_alpha(PROTECT, guard_scores=guard, guard_tolerance=bad)
    with pytest.raises(ValueError, match="no_regression"):
        choose_alpha(PROTECT, no_regression=False, guard_scores=guard)
    # a language the guard cannot score at some α is not guarded by it
    holes = {a: per | {"arq": None if a == "1.0" else 50.0} for a, per in guard.items()}
    assert (
        choose_alpha(PROTECT, tolerance=1.0, guard_scores=holes, guard_tolerance=5.0).alpha == 1.0
    )


def test_merge_names_a_model_that_is_not_there(tmp_path, monkeypatch):
    from tripletforge.merge import merge_models

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"not a sentence-transformers folder .*modules\.json"):
        merge_models("average", [str(empty)], tmp_path / "out")
    with pytest.raises(FileNotFoundError, match=r"not a built-in name .*check the name or path"):
        merge_models("average", ["no-such-model"], tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="no such folder"):
        merge_models("average", [str(tmp_path / "missing" / "x")], tmp_path / "out")
    assert not (tmp_path / "out").exists()
