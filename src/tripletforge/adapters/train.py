"""LoRA adapter training for generators: completion-only NLI adapters and language adapters.

``task`` and ``xlora`` adapters learn ``format_adapter_prompt(premise, polarity)`` → hypothesis
with the prompt tokens masked out of the loss (label -100); ``language`` adapters learn plain
causal LM on raw sentences. Training checkpoints the trainable weights, optimiser, scheduler and
RNG state every ``save_steps`` and resumes from the latest one, so an interrupted run ends with
the same weights as an uninterrupted one. The output folder is a standard PEFT adapter
(``peft.PeftModel.from_pretrained(base, folder)``) plus ``tripletforge_adapter.json``.

>>> from tripletforge.adapters import PromptPair, train_adapter
>>> train_adapter("smollm2-135m", [PromptPair("A dog runs.", "An animal moves.")],
...               "out/task-pos", adapter_type="task", polarity="positive")  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import json
import math
import resource
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tripletforge.adapters.config import (
    ADAPTER_TYPES,
    SUPERVISED_TYPES,
    AdapterTrainSettings,
    LoraSettings,
)
from tripletforge.adapters.data import PromptPair, hash_examples
from tripletforge.adapters.prompts import (
    ADAPTER_PROMPT_ID,
    check_polarity,
    format_adapter_completion,
    format_adapter_prompt,
)
from tripletforge.data.jsonl import strict_dumps
from tripletforge.progress import progress_task
from tripletforge.provenance import library_versions

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase

PROVENANCE_FILE = "tripletforge_adapter.json"
#: Per-step training log written next to the adapter: ``step,loss,lr,seconds``.
TRAIN_LOG_FILE = "train_log.csv"
IGNORE_INDEX = -100
_STATE_FILE = "state.pt"


@dataclass
class Encoded:
    """One tokenised example: ``labels`` is ``input_ids`` with the prompt set to -100."""

    input_ids: list[int]
    labels: list[int]
    prompt_length: int = 0


@dataclass
class TrainResult:
    """What :func:`train_adapter` did."""

    output_dir: Path
    steps: int
    losses: list[float] = field(default_factory=list)
    resumed_from: int = 0
    skipped_examples: int = 0
    step_seconds: list[float] = field(default_factory=list)  # wall time of each step
    peak_rss_mb: float | None = None

    @property
    def final_loss(self) -> float | None:
        return self.losses[-1] if self.losses else None

    @property
    def mean_step_seconds(self) -> float | None:
        """Mean wall seconds per step, without the first step (warm-up) when there are more."""
        times = self.step_seconds[1:] or self.step_seconds
        return sum(times) / len(times) if times else None


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def write_train_log(
    path: str | Path, losses: Sequence[float], lrs: Sequence[float], seconds: Sequence[float]
) -> None:
    """Write the per-step ``step,loss,lr,seconds`` CSV (missing values stay empty)."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["step", "loss", "lr", "seconds"])
        for i, loss in enumerate(losses):
            lr = f"{lrs[i]:.6g}" if i < len(lrs) else ""
            sec = f"{seconds[i]:.4f}" if i < len(seconds) else ""
            writer.writerow([i + 1, f"{loss:.6f}", lr, sec])


def encode_prompt_pair(
    tokenizer: PreTrainedTokenizerBase, pair: PromptPair, polarity: str, max_length: int
) -> Encoded | None:
    """Tokenise prompt and completion separately (an exact boundary); ``None`` if too long.

    The prompt is tokenised exactly as a generator tokenises it (``tokenizer(prompt)``); the
    completion is the hypothesis plus EOS, truncated to fit ``max_length``.
    """
    prompt = tokenizer(format_adapter_prompt(pair.premise, polarity))["input_ids"]
    completion = tokenizer(format_adapter_completion(pair.hypothesis), add_special_tokens=False)
    room = max_length - len(prompt) - 1
    if room < 1:
        return None
    target = [*completion["input_ids"][:room], tokenizer.eos_token_id]
    return Encoded(
        input_ids=list(prompt) + target,
        labels=[IGNORE_INDEX] * len(prompt) + target,
        prompt_length=len(prompt),
    )


def encode_text(tokenizer: PreTrainedTokenizerBase, text: str, max_length: int) -> Encoded:
    """Tokenise a raw sentence for causal-LM adaptation (every token is a target)."""
    ids = [*tokenizer(text)["input_ids"][: max_length - 1], tokenizer.eos_token_id]
    return Encoded(input_ids=ids, labels=list(ids))


def collate(batch: Sequence[Encoded], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch; padding gets attention 0 and label -100."""
    import torch

    width = max(len(ex.input_ids) for ex in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, ex in enumerate(batch):
        n = len(ex.input_ids)
        ids[row, :n] = torch.tensor(ex.input_ids)
        labels[row, :n] = torch.tensor(ex.labels)
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def load_tokenizer(base_path: str) -> PreTrainedTokenizerBase:
    """Load the base model's tokenizer with a pad token (EOS if it has none)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_path)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _checkpoints(root: Path) -> list[Path]:
    done = [
        p for p in root.glob("step-*") if (p / _STATE_FILE).is_file() and (p / ".complete").exists()
    ]
    return sorted(done, key=lambda p: int(p.name.split("-")[1]))


def _save_checkpoint(root: Path, step: int, state: dict[str, Any], keep: int) -> None:
    import torch

    path = root / f"step-{step:07d}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    torch.save(state, path / _STATE_FILE)
    (path / ".complete").write_text("ok\n")
    for old in _checkpoints(root)[: -max(1, keep)]:
        shutil.rmtree(old, ignore_errors=True)


def read_provenance(adapter_dir: str | Path) -> dict[str, Any]:
    """The ``tripletforge_adapter.json`` of an adapter folder ({} if absent)."""
    path = Path(adapter_dir) / PROVENANCE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def train_adapter(
    base_model: str,
    examples: Sequence[PromptPair] | Sequence[str],
    output_dir: str | Path,
    *,
    adapter_type: str,
    polarity: str | None = None,
    lang: str | None = None,
    lora: LoraSettings | None = None,
    train: AdapterTrainSettings | None = None,
    resume: bool = True,
    sources: Sequence[str] = (),
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Train one LoRA adapter on ``base_model`` and save it as a PEFT folder in ``output_dir``.

    ``examples`` are :class:`PromptPair` for ``task``/``xlora`` (with ``polarity``) and raw
    sentences for ``language``. ``base_model`` is a built-in generator name
    (``smollm2-135m``), a local folder or a hub id. ``on_step(step, loss)`` is called after
    every optimiser step (raise from it to stop; the next call resumes).
    """
    import torch
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM, get_scheduler

    from tripletforge.models.generators import resolve_generator

    if adapter_type not in ADAPTER_TYPES:
        raise ValueError(f"adapter_type must be one of {ADAPTER_TYPES}, got {adapter_type!r}")
    supervised = adapter_type in SUPERVISED_TYPES
    if supervised:
        polarity = check_polarity(polarity or "")
        if not all(isinstance(ex, PromptPair) for ex in examples):
            raise TypeError(f"{adapter_type} adapters train on PromptPair examples")
    elif not all(isinstance(ex, str) for ex in examples):
        raise TypeError("language adapters train on raw sentences (str)")
    if not examples:
        raise ValueError("no training examples")
    lora = lora or LoraSettings()
    train = train or AdapterTrainSettings()
    output_dir = Path(output_dir)
    ckpt_root = output_dir / "checkpoints"
    base_path = resolve_generator(base_model)
    device = torch.device(train.device or ("cuda" if torch.cuda.is_available() else "cpu"))

    tokenizer = load_tokenizer(base_path)
    if supervised:
        encoded = [encode_prompt_pair(tokenizer, ex, polarity, train.max_length) for ex in examples]
    else:
        encoded = [encode_text(tokenizer, ex, train.max_length) for ex in examples]
    kept = [ex for ex in encoded if ex is not None]
    skipped = len(encoded) - len(kept)
    if not kept:
        raise ValueError(f"every example is longer than max_length={train.max_length}")

    n = len(kept)
    micro_per_epoch = math.ceil(n / train.batch_size)
    total_steps = train.max_steps or max(
        1, math.ceil(train.epochs * micro_per_epoch / train.grad_accum)
    )
    data_hash = hash_examples(examples)
    fingerprint = {
        "base_model": base_model,
        "adapter_type": adapter_type,
        "polarity": polarity,
        "data_sha256": data_hash,
        "lora": lora.model_dump(mode="json"),
        "train": {k: v for k, v in train.to_dict().items() if k not in ("save_steps", "device")},
        "prompt_id": ADAPTER_PROMPT_ID if supervised else None,
    }
    previous = read_provenance(output_dir)
    if (
        resume
        and previous.get("fingerprint") == fingerprint
        and previous.get("steps") == total_steps
    ):
        return TrainResult(
            output_dir,
            total_steps,
            previous.get("losses", []),
            total_steps,
            skipped,
            previous.get("step_seconds", []),
            previous.get("peak_rss_mb"),
        )

    torch.manual_seed(train.seed)
    model = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32)
    model = get_peft_model(model, lora.to_peft()).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=train.learning_rate, weight_decay=train.weight_decay)
    scheduler = get_scheduler(
        train.scheduler,
        optimizer,
        num_warmup_steps=train.warmup_steps,
        num_training_steps=total_steps,
    )

    start, losses, lrs, seconds = 0, [], [], []
    checkpoints = _checkpoints(ckpt_root) if resume else []
    if not resume:
        shutil.rmtree(ckpt_root, ignore_errors=True)
    if checkpoints:
        state = torch.load(checkpoints[-1] / _STATE_FILE, map_location=device, weights_only=False)
        if state["fingerprint"] != fingerprint:
            raise RuntimeError(
                f"{checkpoints[-1]} was written by a run with other data or settings; "
                "use another output folder or resume=False (--no-resume) to start over"
            )
        named = dict(model.named_parameters())
        with torch.no_grad():
            for name, value in state["trainable"].items():
                named[name].copy_(value)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"])
        start, losses = state["step"], list(state["losses"])
        lrs, seconds = list(state.get("lrs", [])), list(state.get("step_seconds", []))

    def micro_batch(index: int) -> dict[str, torch.Tensor]:
        epoch, offset = divmod(index, micro_per_epoch)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(train.seed + epoch))
        chosen = order[offset * train.batch_size : (offset + 1) * train.batch_size].tolist()
        batch = collate([kept[i] for i in chosen], tokenizer.pad_token_id)
        return {k: v.to(device) for k, v in batch.items()}

    model.train()
    with progress_task(f"{adapter_type} adapter", total_steps, enabled=progress) as bar:
        bar.update(completed=start)
        for step in range(start, total_steps):
            began = time.perf_counter()
            lrs.append(float(optimizer.param_groups[0]["lr"]))
            step_loss = 0.0
            for micro in range(train.grad_accum):
                loss = model(**micro_batch(step * train.grad_accum + micro)).loss
                (loss / train.grad_accum).backward()
                step_loss += loss.item() / train.grad_accum
            torch.nn.utils.clip_grad_norm_(params, train.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(step_loss)
            seconds.append(time.perf_counter() - began)
            bar.advance(1, note=f"loss {step_loss:.4f}")
            done = step + 1
            if done % train.save_steps == 0 and done < total_steps:
                trainable = {
                    k: v.detach().cpu() for k, v in model.named_parameters() if v.requires_grad
                }
                _save_checkpoint(
                    ckpt_root,
                    done,
                    {
                        "trainable": trainable,
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "rng": torch.get_rng_state(),
                        "step": done,
                        "losses": losses,
                        "lrs": lrs,
                        "step_seconds": seconds,
                        "fingerprint": fingerprint,
                    },
                    train.keep_checkpoints,
                )
            if on_step is not None:
                on_step(done, step_loss)

    model.save_pretrained(output_dir)
    peak = peak_rss_mb()
    write_train_log(output_dir / TRAIN_LOG_FILE, losses, lrs, seconds)
    provenance = {
        "adapter_type": adapter_type,
        "polarity": polarity,
        "lang": lang,
        "base_model": base_model,
        "base_model_path": base_path,
        "prompt_id": fingerprint["prompt_id"],
        "data": {
            "sha256": data_hash,
            "examples": len(examples),
            "used": n,
            "skipped_too_long": skipped,
            "sources": list(sources),
        },
        "lora": lora.model_dump(mode="json"),
        "train": train.to_dict(),
        "seed": train.seed,
        "steps": total_steps,
        "resumed_from": start,
        "final_loss": losses[-1] if losses else None,
        "losses": losses,
        "step_seconds": [round(x, 4) for x in seconds],
        "train_seconds": round(sum(seconds), 2),  # all steps, across resumes
        "device": str(device),
        "threads": torch.get_num_threads(),
        "peak_rss_mb": round(peak, 1),
        "fingerprint": fingerprint,
        "versions": library_versions(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (output_dir / PROVENANCE_FILE).write_text(
        strict_dumps(provenance, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return TrainResult(output_dir, total_steps, losses, start, skipped, seconds, peak)
