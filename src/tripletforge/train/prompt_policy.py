"""The training prompt policy: which prompt symmetric training text gets.

Evaluation follows mteb's protocol (:mod:`tripletforge.models.prompts`): for the e5 encoders,
STS, bitext mining, classification and clustering texts get **no** prompt, retrieval queries
``query: `` and documents ``passage: ``. Training can match that or not:

- ``none`` (default): symmetric columns (NLI, paraphrase, parallel text) get the evaluation's
  symmetric prompt — mteb's STS prompt: nothing for e5, the default prompt of a model that
  has one — so a model is trained as it will be evaluated on STS;
- ``query``: symmetric columns get the encoder's query prompt (``query: `` for e5), as the
  paper's scripts and the e5 authors' fine-tuning recipe do;
- ``auto``: train a short trial (``prompt_trial_steps``) with each of the two, score both on
  dev data (the caller's scorer — the pipeline's merge dev scorer — else the run's dev STS
  sets), keep the better (``none`` on a tie) and record both dev scores.

Columns with a role (retrieval queries and documents) keep their role's prompt under every
policy. ``TrainSettings.prompt`` (a literal prefix) and a policy other than ``none`` exclude
each other.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from tripletforge.train.config import TrainConfig

log = logging.getLogger(__name__)

#: The policies an ``auto`` trial compares, in tie-breaking order.
TRIAL_POLICIES = ("none", "query")
#: File in the output folder that records an ``auto`` choice (reused when training resumes).
CHOICE_FILE = "prompt_policy.json"
#: What a dev scorer returns (×100): one score, or one per language (None: undefined).
DevScore = float | dict[str, float | None] | None


def symmetric_override(config: TrainConfig, model: SentenceTransformer) -> str | None:
    """The prompt of symmetric columns under the config's policy; None = the evaluation's
    symmetric prompt (:func:`tripletforge.models.prompts.symmetric_prompt`)."""
    from tripletforge.models.prompts import encode_prompt

    if config.prompt is not None:
        return config.prompt
    if config.prompt_policy == "query":
        return encode_prompt(model, "Retrieval", "query").text
    if config.prompt_policy == "auto":
        raise ValueError("prompt_policy auto is resolved by choose_prompt_policy before training")
    return None


def mean_score(score: DevScore) -> float | None:
    """One number of a dev score: the mean of a per-language mapping's defined values."""
    values = list(score.values()) if isinstance(score, dict) else [score]
    defined = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return sum(defined) / len(defined) if defined else None


def choose_prompt_policy(
    config: TrainConfig,
    scorer: Callable[[SentenceTransformer], DevScore] | None,
    train: Callable[..., Path],
    progress: bool = True,
) -> dict[str, Any]:
    """Run the ``auto`` trials and return the choice (also written to ``CHOICE_FILE`` in the
    output folder, and read back from there when training resumes).

    ``train`` is :func:`tripletforge.train.trainer.train_encoder` (passed in, so that this
    module does not import the trainer that imports it); ``scorer`` maps a model to its dev
    score (one number or one per language).

    Returns ``{"policy", "trial_steps", "dev_scores": {policy: mean}, "dev_detail":
    {policy: per-language scores}}``.

    Raises:
        ValueError: no scorer is given.
    """
    from tripletforge.models import load_encoder

    record = config.output_dir / CHOICE_FILE
    if config.resume and record.is_file():
        done = json.loads(record.read_text())
        if done.get("trial_steps") == config.prompt_trial_steps:
            return done
    if scorer is None:
        raise ValueError(
            "prompt_policy auto scores a trial of each policy on dev data; give dev sets "
            "(--dev / dev_sets) or choose prompt_policy none or query"
        )
    trials = config.output_dir / ".prompt-trials"
    scores: dict[str, float | None] = {}
    detail: dict[str, Any] = {}
    for policy in TRIAL_POLICIES:
        trial = config.model_copy(
            update={
                "prompt_policy": policy,
                "max_steps": config.prompt_trial_steps,
                "output_dir": trials / policy,
                "resume": False,
                "dev_set": None,
                "dev_sets": {},
                "save_steps": max(config.save_steps, config.prompt_trial_steps),
                "keep_checkpoints": False,
            }
        )
        shutil.rmtree(trial.output_dir, ignore_errors=True)
        folder = train(trial, progress=progress)
        raw = scorer(load_encoder(str(folder)))
        detail[policy] = raw
        scores[policy] = mean_score(raw)
        shutil.rmtree(folder, ignore_errors=True)
        log.info("prompt policy trial %s: dev %s", policy, scores[policy])
    shutil.rmtree(trials, ignore_errors=True)
    defined = {p: s for p, s in scores.items() if s is not None}
    chosen = (
        max(defined, key=lambda p: (defined[p], -TRIAL_POLICIES.index(p))) if defined else "none"
    )
    choice = {
        "policy": chosen,
        "trial_steps": config.prompt_trial_steps,
        "dev_scores": scores,
        "dev_detail": detail,
    }
    config.output_dir.mkdir(parents=True, exist_ok=True)
    tmp = record.with_name(f".{record.name}.tmp")
    tmp.write_text(json.dumps(choice, indent=2, default=str) + "\n")
    tmp.replace(record)
    return choice


def policy_record(config: TrainConfig, choice: dict[str, Any] | None) -> dict[str, Any]:
    """The prompt policy as the provenance records it: the configured one and, for ``auto``,
    the choice with both dev scores."""
    if choice is None:
        return {"configured": config.prompt_policy, "applied": config.prompt_policy}
    return {"configured": "auto", "applied": choice["policy"], **choice}
