"""Stage (a), alignment: train only the connector, on English text, against the frozen target.

LUSIFER (Man et al., 2025, §3, "alignment training") aligns the multilingual encoder's space
with the target's input space before any task training, with the encoder and the target frozen
and only the connector learning. Two objectives are implemented:

``distill`` (default; the one the encoder-style target supports)
    The target fed through the connector must reproduce the target's *own* sentence embedding
    of the same English text: loss ``1 − cos(connected(x), target(x))`` over the pooled
    (normalised, when the target normalises) embeddings ``(batch, d)``, optionally plus an
    in-batch InfoNCE term (``contrastive_weight``) that also pushes other sentences apart.
``reconstruct`` (the paper's alignment task, decoder targets only)
    The frozen causal LM, given the connector's output ``(batch, n + k, d)`` as a prefix,
    predicts the same text token by token (teacher forcing; cross-entropy through the tied
    input/output embeddings). The paper's masking of the input and its "completion" variant
    are not implemented.

Everything runs with the whole model in eval mode (no dropout: the frozen parts behave as at
inference, and the same seed gives the same connector). The loop is short and deterministic;
its artifact is the aligned model folder plus ``align_log.csv`` (one row per ``log_every``
steps: step, loss, learning rate, seconds).
"""

from __future__ import annotations

import csv
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from tripletforge.connect.settings import AlignSettings

if TYPE_CHECKING:
    from tripletforge.connect.build import ConnectedModel
    from tripletforge.connect.module import ConnectedEncoder

#: InfoNCE scale of the optional in-batch term (1 / temperature, as MNRL's default).
CONTRASTIVE_SCALE = 20.0


@dataclass
class AlignReport:
    """What stage (a) did: steps, speed, losses (``log``: the rows of ``align_log.csv``)."""

    objective: str
    sentences: int
    steps: int
    epochs: float
    seconds: float
    steps_per_second: float
    first_loss: float
    last_loss: float
    trainable_parameters: int
    log: list[dict[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def trainable_parameters(module: torch.nn.Module) -> list[torch.nn.Parameter]:
    return [p for p in module.parameters() if p.requires_grad]


def freeze_all_but_connector(built: ConnectedModel) -> list[torch.nn.Parameter]:
    """Freeze every parameter of the model except the connector's; return the connector's."""
    built.model.requires_grad_(False)
    built.module.connector.requires_grad_(True)
    return list(built.module.connector.parameters())


#: Encoder states are cached for the whole stage up to this many floats (≈ 600 MB).
CACHE_FLOATS = 150_000_000


class EncoderStateCache:
    """The frozen encoder's token states of every text, computed once: ``(n_i, d_enc)`` each.

    Alignment revisits each sentence many times and the encoder never changes, so caching
    removes the encoder's forward pass from all but the first visit. Texts are tokenized one
    by one (truncated to ``max_length``), so a text's states do not depend on its batch.
    """

    def __init__(self, module: ConnectedEncoder, texts: list[str], max_length: int) -> None:
        self.states: list[torch.Tensor] = []
        device = next(module.encoder.parameters()).device
        saved = module.max_seq_length
        module.max_seq_length = max_length
        try:
            for start in range(0, len(texts), 64):
                features = module.preprocess(texts[start : start + 64])
                ids = features["input_ids"].to(device)
                mask = features["attention_mask"].to(device)
                states = module.encoder_states(ids, mask)
                for row, length in zip(states, mask.sum(dim=1).tolist(), strict=True):
                    self.states.append(row[:length].clone())
        finally:
            module.max_seq_length = saved

    @staticmethod
    def fits(module: ConnectedEncoder, texts: list[str], max_length: int) -> bool:
        """Whether caching ``texts`` stays under :data:`CACHE_FLOATS` (estimated)."""
        width = int(module.encoder.config.hidden_size)
        return len(texts) * max_length * width <= CACHE_FLOATS

    def batch(self, index: list[int]) -> dict[str, torch.Tensor]:
        """``encoder_states`` ``(batch, n, d_enc)`` right-padded, and ``attention_mask``."""
        rows = [self.states[i] for i in index]
        n = max(r.size(0) for r in rows)
        states = rows[0].new_zeros(len(rows), n, rows[0].size(1))
        mask = torch.zeros(len(rows), n, dtype=torch.long, device=rows[0].device)
        for i, row in enumerate(rows):
            states[i, : row.size(0)] = row
            mask[i, : row.size(0)] = 1
        return {"encoder_states": states, "attention_mask": mask}


@torch.no_grad()
def teacher_embeddings(
    built: ConnectedModel, texts: list[str], max_length: int, batch_size: int = 64
) -> torch.Tensor:
    """The target-alone sentence embeddings of ``texts``, ``(len(texts), d)``."""
    chunks = [
        built.target.embed(texts[i : i + batch_size], max_length)
        for i in range(0, len(texts), batch_size)
    ]
    return torch.cat(chunks).float()


def reconstruction_loss(
    module: ConnectedEncoder,
    embeds: torch.Tensor,
    mask: torch.Tensor,
    texts: list[str],
    max_length: int,
) -> torch.Tensor:
    """Cross-entropy of a causal target re-writing ``texts`` after the connector's prefix.

    Args:
        embeds: connector output ``(batch, n + k, d)``; mask: ``(batch, n + k)``.

    Raises:
        ValueError: the target has no tokenizer or untied input/output embeddings.
    """
    target, tokenizer = module.target, module.target_tokenizer
    config = target.config
    if tokenizer is None or not getattr(config, "tie_word_embeddings", False):
        raise ValueError(
            "align.objective reconstruct needs a decoder target with tied input/output "
            "embeddings and its tokenizer (e.g. smollm2-135m); use distill"
        )
    enc = tokenizer(
        texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
    ).to(embeds.device)
    ids, text_mask = enc["input_ids"], enc["attention_mask"]
    table = target.get_input_embeddings().weight  # (vocab, d)
    inputs = torch.cat([embeds, F.embedding(ids, table)], dim=1)
    full_mask = torch.cat([mask, text_mask.to(mask.dtype)], dim=1)
    hidden = target(inputs_embeds=inputs, attention_mask=full_mask, return_dict=True)
    hidden = hidden.last_hidden_state  # (batch, n + k + m, d)
    prefix = embeds.size(1)
    last_prefix = mask.long().sum(dim=1) - 1  # (batch,)
    first = hidden[torch.arange(hidden.size(0), device=hidden.device), last_prefix]  # (batch, d)
    states = torch.cat([first.unsqueeze(1), hidden[:, prefix:-1]], dim=1)  # (batch, m, d)
    logits = F.linear(states, table)  # (batch, m, vocab)
    labels = ids.masked_fill(text_mask == 0, -100)
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)


def align_connector(
    built: ConnectedModel,
    texts: list[str],
    settings: AlignSettings,
    *,
    seed: int = 42,
    log_path: Path | None = None,
    progress: bool = True,
) -> AlignReport:
    """Train the connector of ``built`` on English ``texts``; return what happened.

    Only the connector's parameters change (encoder, target and pooling are frozen, bit for
    bit). ``log_path`` receives ``align_log.csv`` rows as training goes.

    Raises:
        ValueError: no texts, or ``reconstruct`` on a target that cannot do it.
    """
    from contextlib import ExitStack

    from transformers import get_scheduler

    from tripletforge.progress import progress_task

    if not texts:
        raise ValueError("alignment needs at least one English sentence")
    objective = settings.objective
    module = built.module
    if "reconstruct" in objective and module.target_kind != "decoder":
        raise ValueError(
            f"align.objective {objective!r} needs a decoder (causal LM) target; "
            f"{built.target.source} is an encoder: use distill"
        )
    params = freeze_all_but_connector(built)
    model = built.model
    model.eval()
    device = model.device
    generator = torch.Generator().manual_seed(seed)
    use_distill = "distill" in objective
    teacher = (
        teacher_embeddings(built, texts, settings.max_seq_length).to(device)
        if use_distill
        else None
    )
    per_epoch = math.ceil(len(texts) / settings.batch_size)
    steps = settings.max_steps or max(1, math.ceil(settings.epochs * per_epoch))
    optimizer = torch.optim.AdamW(
        params, lr=settings.learning_rate, weight_decay=settings.weight_decay
    )
    scheduler = get_scheduler(
        "linear",
        optimizer,
        num_warmup_steps=int(settings.warmup_ratio * steps),
        num_training_steps=steps,
    )
    cache = None
    if "reconstruct" not in objective and EncoderStateCache.fits(
        module, texts, settings.max_seq_length
    ):
        cache = EncoderStateCache(module, texts, settings.max_seq_length)
    saved_length = module.max_seq_length
    module.max_seq_length = settings.max_seq_length
    rows: list[dict[str, float]] = []
    writer = None
    handle = None
    if log_path is not None:
        handle = open(log_path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        writer = csv.DictWriter(handle, fieldnames=["step", "loss", "lr", "seconds"])
        writer.writeheader()
    started = time.perf_counter()
    window: list[float] = []
    first_loss = math.nan
    order: list[int] = []
    stack = ExitStack()
    bar = stack.enter_context(progress_task(f"align ({objective})", steps, enabled=progress))
    try:
        for step in range(1, steps + 1):
            if len(order) < settings.batch_size:
                order += torch.randperm(len(texts), generator=generator).tolist()
            index, order = order[: settings.batch_size], order[settings.batch_size :]
            batch = [texts[i] for i in index]
            if cache is not None:
                features = cache.batch(index)
            else:
                features = module.preprocess(batch)
                features = {k: v.to(device) for k, v in features.items()}
            loss = torch.zeros((), device=device)
            if use_distill:
                output = model(dict(features))
                student = output["sentence_embedding"]  # (batch, d)
                gold = teacher[index]  # (batch, d)
                loss = loss + (1 - F.cosine_similarity(student, gold, dim=-1)).mean()
                if settings.contrastive_weight:
                    logits = (
                        CONTRASTIVE_SCALE
                        * F.normalize(student, dim=-1)
                        @ F.normalize(gold, dim=-1).T
                    )
                    labels = torch.arange(len(batch), device=device)
                    loss = loss + settings.contrastive_weight * F.cross_entropy(logits, labels)
            if "reconstruct" in objective:
                embeds, mask = module.connect(features["input_ids"], features["attention_mask"])
                loss = loss + reconstruction_loss(
                    module, embeds, mask, batch, settings.max_seq_length
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            value = float(loss.detach())
            if step == 1:
                first_loss = value
            window.append(value)
            bar.advance(1)
            if step % settings.log_every == 0 or step == steps:
                row = {
                    "step": step,
                    "loss": round(sum(window) / len(window), 6),
                    "lr": scheduler.get_last_lr()[0],
                    "seconds": round(time.perf_counter() - started, 2),
                }
                rows.append(row)
                window = []
                bar.update(note=f"loss {row['loss']:.4f}")
                if writer is not None:
                    writer.writerow(row)
                    handle.flush()
    finally:
        stack.close()
        module.max_seq_length = saved_length
        if handle is not None:
            handle.close()
    seconds = time.perf_counter() - started
    return AlignReport(
        objective=objective,
        sentences=len(texts),
        steps=steps,
        epochs=round(steps * settings.batch_size / len(texts), 3),
        seconds=round(seconds, 1),
        steps_per_second=round(steps / seconds, 3),
        first_loss=first_loss,
        last_loss=rows[-1]["loss"] if rows else math.nan,
        trainable_parameters=sum(p.numel() for p in params),
        log=rows,
    )
