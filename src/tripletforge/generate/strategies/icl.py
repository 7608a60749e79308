"""``icl``: few-shot prompting of the base model with k examples sampled per request.

Works for every generation task: the prompts are the task's
(:mod:`tripletforge.generate.tasks`), the examples come from ``pool`` or the task's shipped
pool (``snli-en``, ``retrieval-en``, ``paraphrase-en``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from tripletforge.data.schemas import SeedSentence
from tripletforge.generate.pool import Example, load_pool
from tripletforge.generate.requests import GenerationRequest, Pass
from tripletforge.generate.strategies.base import StrategyBase, StrategyContext, derive_seed
from tripletforge.generate.tasks import make_task


class ICLStrategy(StrategyBase):
    """In-context learning from a pool (shipped SNLI sample or the user's own triplets).

    Shots are drawn without replacement from a RNG seeded by (the anchor's RNG seed, attempt),
    so the passes of one attempt show the same shots and share their prompt prefix (the backend
    processes it once); with ``options["shared_shots"] = False`` each pass draws its own,
    seeded by (the anchor's RNG seed, pass, attempt). When the pool has examples in the
    anchor's language only those are used, and an example whose anchor is the seed sentence
    itself is never shown.
    """

    name = "icl"

    def __init__(self, ctx: StrategyContext) -> None:
        if ctx.k < 0:
            raise ValueError("k (number of few-shot examples) must be >= 0")
        self.ctx = ctx
        self.task = make_task(ctx.task, chat=ctx.chat)
        self.pool, self.pool_report = load_pool(
            ctx.pool or self.task.default_pool, columns=self.task.pool_columns
        )
        self.shared_shots = bool(ctx.options.get("shared_shots", True))

    def shots(self, sentence: SeedSentence, rng: random.Random) -> list[Example]:
        """Sample k examples for one request."""
        same_lang = [e for e in self.pool if e.lang == sentence.lang]
        candidates = [e for e in (same_lang or self.pool) if e.anchor != sentence.text]
        return rng.sample(candidates, min(self.ctx.k, len(candidates)))

    def plan(
        self, sentence: SeedSentence, passes: Sequence[Pass], *, anchor_seed: int, attempt: int
    ) -> list[GenerationRequest]:
        requests = []
        shared = derive_seed(anchor_seed, "shots", attempt)
        for pass_ in passes:
            request_seed = derive_seed(anchor_seed, pass_, attempt)
            shots_seed = shared if self.shared_shots else request_seed
            requests.append(
                self.task.request(
                    seed_id=sentence.seed_id,
                    pass_=pass_,
                    anchor=sentence.text,
                    anchor_lang=sentence.lang,
                    out_lang=self.ctx.out_lang(sentence.lang),
                    shots=self.shots(sentence, random.Random(shots_seed)),
                    seed=request_seed,
                )
            )
        return requests
