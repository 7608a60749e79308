"""LoRA adapter training for generators on TRL's ``SFTTrainer``: NLI and language adapters.

``task`` and ``xlora`` adapters learn ``format_adapter_prompt(premise, polarity)`` → hypothesis
with a completion-only loss: examples are tokenised here (prompt and completion separately, so
the boundary is exact and the prompt is tokenised as a generator tokenises it) and handed to
``SFTTrainer`` as ``input_ids`` + ``completion_mask``, which sets the prompt's labels to -100.
``language`` adapters learn plain causal LM on raw sentences (every token is a target).

The trainer is the field's (TRL on transformers' ``Trainer``), so what it offers is available:
``quantization="4bit"`` loads the base in bitsandbytes NF4 (QLoRA, Dettmers et al. 2023; the
paper's generator adapters), ``bf16``, ``gradient_checkpointing``, and several GPUs with
``torchrun --nproc_per_node N -m tripletforge.cli.main adapters train …`` (DDP). Checkpoints
(trainable weights, optimiser, scheduler, RNG states, data position) are the ``Trainer``'s,
every ``save_steps`` steps in ``OUT/checkpoints/checkpoint-N``; the next call resumes from the
latest complete one and ends with the same weights as an uninterrupted run. The output folder
is a standard PEFT adapter (``peft.PeftModel.from_pretrained(base, folder)``) plus
``tripletforge_adapter.json`` (provenance, losses) and ``train_log.csv``.

>>> from tripletforge.adapters import PromptPair, train_adapter
>>> train_adapter("smollm2-135m", [PromptPair("A dog runs.", "An animal moves.")],
...               "out/task-pos", adapter_type="task", polarity="positive")  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import importlib.util
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
from tripletforge.checkpointing import (
    checkpoint_step,
    complete_checkpoints,
    drop_unfinished_checkpoints,
    mark_callback,
    read_mark,
)
from tripletforge.data.jsonl import strict_dumps
from tripletforge.progress import progress_task
from tripletforge.provenance import library_versions

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

PROVENANCE_FILE = "tripletforge_adapter.json"
#: Per-step training log written next to the adapter: ``step,loss,lr,seconds``.
TRAIN_LOG_FILE = "train_log.csv"
IGNORE_INDEX = -100


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
    step_seconds: list[float | None] = field(default_factory=list)  # wall time of each step
    peak_rss_mb: float | None = None
    eval_loss_before: float | None = None  # held-out loss of the base model (LoRA off)
    eval_loss_after: float | None = None  # held-out loss with the trained adapter

    @property
    def final_loss(self) -> float | None:
        return self.losses[-1] if self.losses else None

    @property
    def mean_step_seconds(self) -> float | None:
        """Mean wall seconds per step, without the first step (warm-up) when there are more."""
        times = [t for t in (self.step_seconds[1:] or self.step_seconds) if t is not None]
        return sum(times) / len(times) if times else None


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def write_train_log(
    path: str | Path,
    losses: Sequence[float],
    lrs: Sequence[float],
    seconds: Sequence[float | None],
) -> None:
    """Write the per-step ``step,loss,lr,seconds`` CSV (missing values stay empty)."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["step", "loss", "lr", "seconds"])
        for i, loss in enumerate(losses):
            lr = f"{lrs[i]:.6g}" if i < len(lrs) else ""
            sec = f"{seconds[i]:.4f}" if i < len(seconds) and seconds[i] is not None else ""
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


def load_tokenizer(base_path: str) -> PreTrainedTokenizerBase:
    """Load the base model's tokenizer with a pad token (EOS if it has none)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_path)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def read_provenance(adapter_dir: str | Path) -> dict[str, Any]:
    """The ``tripletforge_adapter.json`` of an adapter folder ({} if absent)."""
    path = Path(adapter_dir) / PROVENANCE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


class QuantizationError(ValueError):
    """4-bit training asked for where it cannot run (no CUDA GPU)."""


def check_quantization(train: AdapterTrainSettings) -> None:
    """Raise a clear error when ``train.quantization`` cannot run here.

    ``4bit`` needs a CUDA GPU (``QuantizationError``, a ``ValueError``) and the ``bitsandbytes``
    package (``ImportError``: ``pip install 'tripletforge[qlora]'``). bitsandbytes is never
    imported here: CPU runs work without it.
    """
    if train.quantization == "none":
        return
    import torch

    missing = importlib.util.find_spec("bitsandbytes") is None
    install = "pip install 'tripletforge[qlora]' (bitsandbytes)"
    if train.device == "cpu" or not torch.cuda.is_available():
        where = "device is cpu" if train.device == "cpu" else "no CUDA GPU is visible"
        raise QuantizationError(
            f"quantization {train.quantization!r} (QLoRA: bitsandbytes NF4) needs a CUDA GPU, "
            f"but {where}; train without quantization on CPU"
            + (f", or on a GPU after {install}" if missing else "")
        )
    if missing:
        raise ImportError(f"quantization {train.quantization!r} needs bitsandbytes: {install}")


def load_base_model(base_path: str, train: AdapterTrainSettings) -> Any:
    """The causal LM to put the adapter on: fp32 (bf16 with ``train.bf16``), or NF4 for QLoRA.

    With ``quantization="4bit"`` the weights are loaded by bitsandbytes as NF4 with double
    quantisation and the bf16 (else fp32) compute dtype, on this process's GPU.
    """
    import torch
    from transformers import AutoModelForCausalLM

    check_quantization(train)
    dtype = torch.bfloat16 if train.bf16 else torch.float32
    kwargs: dict[str, Any] = {"dtype": dtype}
    if train.quantization == "4bit":
        from accelerate import PartialState
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
        )
        kwargs["device_map"] = {"": PartialState().local_process_index}
    return AutoModelForCausalLM.from_pretrained(base_path, **kwargs)


def adapter_dataset(encoded: Sequence[Encoded], supervised: bool) -> Any:
    """A ``datasets.Dataset`` for ``SFTTrainer``: ``input_ids`` (+ ``completion_mask``).

    ``completion_mask`` is 0 on the prompt and 1 on the completion; with
    ``completion_only_loss`` the trainer turns it into labels of -100 on the prompt.
    """
    from datasets import Dataset

    data: dict[str, list[list[int]]] = {"input_ids": [list(ex.input_ids) for ex in encoded]}
    if supervised:
        data["completion_mask"] = [
            [0] * ex.prompt_length + [1] * (len(ex.input_ids) - ex.prompt_length) for ex in encoded
        ]
    return Dataset.from_dict(data)


def sft_config(out: Path, train: AdapterTrainSettings, total_steps: int, supervised: bool) -> Any:
    """The ``SFTConfig`` of one adapter: our settings, one log row per step, no own display."""
    from trl import SFTConfig

    return SFTConfig(
        output_dir=str(out),
        max_steps=total_steps,
        per_device_train_batch_size=train.batch_size,
        per_device_eval_batch_size=train.batch_size,
        eval_strategy="no",  # the held-out loss is measured before and after, not during
        gradient_accumulation_steps=train.grad_accum,
        learning_rate=train.learning_rate,
        weight_decay=train.weight_decay,
        lr_scheduler_type=train.scheduler,
        warmup_steps=train.warmup_steps,
        max_grad_norm=train.max_grad_norm,
        optim="adamw_torch",
        seed=train.seed,
        data_seed=train.seed,
        bf16=train.bf16,
        gradient_checkpointing=train.gradient_checkpointing,
        use_cpu=train.device == "cpu",
        save_strategy="steps",
        save_steps=train.save_steps,
        save_total_limit=train.keep_checkpoints,
        logging_strategy="steps",
        logging_steps=1,
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        max_length=train.max_length,
        completion_only_loss=supervised,
        packing=False,
        shuffle_dataset=False,  # the trainer's seeded sampler shuffles (resumable order)
    )


def adapter_trainer(
    model: Any,
    tokenizer: PreTrainedTokenizerBase,
    encoded: Sequence[Encoded],
    out: Path,
    *,
    supervised: bool,
    lora: LoraSettings,
    train: AdapterTrainSettings,
    total_steps: int,
    callbacks: Sequence[Any] = (),
    eval_encoded: Sequence[Encoded] = (),
) -> Any:
    """TRL's ``SFTTrainer`` for one adapter (PEFT wrapping, QLoRA casts, completion-only loss)."""
    from transformers import PrinterCallback, set_seed
    from trl import SFTTrainer

    set_seed(train.seed)  # the LoRA initialisation
    trainer = SFTTrainer(
        model=model,
        args=sft_config(out, train, total_steps, supervised),
        train_dataset=adapter_dataset(encoded, supervised),
        eval_dataset=adapter_dataset(eval_encoded, supervised) if eval_encoded else None,
        processing_class=tokenizer,
        peft_config=lora.to_peft(),
        callbacks=list(callbacks),
    )
    trainer.remove_callback(PrinterCallback)  # log rows go to train_log.csv, not stdout
    return trainer


def _step_recorder(
    seconds: dict[int, float], bar: Any, on_step: Callable[[int, float], None] | None
) -> Any:
    """A ``TrainerCallback``: step times, the progress bar and ``on_step``."""
    from transformers import TrainerCallback

    class StepRecorder(TrainerCallback):
        began = 0.0

        def on_step_begin(self, args, state, control, **kwargs):
            self.began = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            seconds[state.global_step] = time.perf_counter() - self.began

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                bar.advance(1, note=f"loss {logs['loss']:.4f}")
                if on_step is not None:
                    on_step(state.global_step, float(logs["loss"]))

    return StepRecorder()


def _step_log(history: Sequence[dict[str, Any]]) -> tuple[list[float], list[float]]:
    """Per-step losses and learning rates from the trainer's log history (step order)."""
    rows = {int(r["step"]): r for r in history if "loss" in r and "step" in r}
    steps = sorted(rows)
    return [float(rows[s]["loss"]) for s in steps], [
        float(rows[s].get("learning_rate", float("nan"))) for s in steps
    ]


def held_out_indices(n: int, wanted: int, seed: int) -> set[int]:
    """Indices of the examples held out for the before/after loss: a seeded sample of
    ``wanted``, at most half of the ``n`` examples."""
    import random

    count = min(wanted, n // 2)
    return set(random.Random(seed).sample(range(n), count)) if count else set()


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
    (``smollm2-135m``), a local folder or a hub id. Examples longer than
    ``train.max_length`` tokens are skipped and counted. ``on_step(step, loss)`` is called
    after every optimiser step (raise from it to stop; the next call resumes from the last
    checkpoint). Raises ``ValueError`` for bad arguments or no usable example,
    ``QuantizationError``/``ImportError`` when 4-bit training cannot run here, and
    ``RuntimeError`` when ``output_dir`` holds a checkpoint of other data or settings.
    """
    import torch

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

    tokenizer = load_tokenizer(base_path)
    if supervised:
        encoded = [encode_prompt_pair(tokenizer, ex, polarity, train.max_length) for ex in examples]
    else:
        encoded = [encode_text(tokenizer, ex, train.max_length) for ex in examples]
    held_out = held_out_indices(len(encoded), train.eval_examples, train.seed)
    eval_encoded = [ex for i, ex in enumerate(encoded) if i in held_out and ex is not None]
    kept = [ex for i, ex in enumerate(encoded) if i not in held_out and ex is not None]
    skipped = sum(ex is None for ex in encoded)
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
        held = previous.get("eval") or {}
        return TrainResult(
            output_dir,
            total_steps,
            previous.get("losses", []),
            total_steps,
            skipped,
            previous.get("step_seconds", []),
            previous.get("peak_rss_mb"),
            held.get("loss_before"),
            held.get("loss_after"),
        )

    if not resume:
        shutil.rmtree(ckpt_root, ignore_errors=True)
    drop_unfinished_checkpoints(ckpt_root)
    checkpoints = complete_checkpoints(ckpt_root)
    seconds: dict[int, float] = {}
    extra: dict[str, Any] = {}  # what a resumed run must not measure again
    start = 0
    if checkpoints:
        mark = read_mark(checkpoints[-1]) or {}
        if mark.get("fingerprint") != fingerprint:
            raise RuntimeError(
                f"{checkpoints[-1]} was written by a run with other data or settings; "
                "use another output folder or resume=False (--no-resume) to start over"
            )
        start = checkpoint_step(checkpoints[-1])
        seconds = {int(k): float(v) for k, v in (mark.get("step_seconds") or {}).items()}
        extra = {k: mark[k] for k in ("eval_loss_before",) if k in mark}

    model = load_base_model(base_path, train)
    with progress_task(f"{adapter_type} adapter", total_steps, enabled=progress) as bar:
        bar.update(completed=start)
        trainer = adapter_trainer(
            model, tokenizer, kept, ckpt_root, supervised=supervised, lora=lora, train=train,
            total_steps=total_steps, eval_encoded=eval_encoded,
            callbacks=[  # the mark first: before any other callback's on_save
                mark_callback(lambda: {"fingerprint": fingerprint, "step_seconds": seconds}
                              | extra),
                _step_recorder(seconds, bar, on_step),
            ],
        )  # fmt: skip
        if eval_encoded and "eval_loss_before" not in extra:
            extra["eval_loss_before"] = float(trainer.evaluate()["eval_loss"])
        trainer.train(resume_from_checkpoint=str(checkpoints[-1]) if checkpoints else None)
        after = float(trainer.evaluate()["eval_loss"]) if eval_encoded else None
    losses, lrs = _step_log(trainer.state.log_history)
    step_seconds = [seconds.get(step) for step in range(1, len(losses) + 1)]
    peak = peak_rss_mb()
    before = extra.get("eval_loss_before")
    result = TrainResult(
        output_dir, total_steps, losses, start, skipped, step_seconds, peak, before, after
    )
    if not trainer.is_world_process_zero():
        return result
    trainer.model.save_pretrained(output_dir)
    write_train_log(output_dir / TRAIN_LOG_FILE, losses, lrs, step_seconds)
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
            "used": n,  # trained on
            "skipped_too_long": skipped,
            "held_out": len(held_out),
            "sources": list(sources),
        },
        "eval": {"examples": len(eval_encoded), "loss_before": before, "loss_after": after},
        "lora": lora.model_dump(mode="json"),
        "train": train.to_dict(),
        "trainer": "trl.SFTTrainer",
        "seed": train.seed,
        "steps": total_steps,
        "resumed_from": start,
        "final_loss": losses[-1] if losses else None,
        "losses": losses,
        "step_seconds": [None if x is None else round(x, 4) for x in step_seconds],
        "train_seconds": round(sum(x for x in step_seconds if x is not None), 2),  # all runs
        "device": str(trainer.args.device),
        "world_size": trainer.args.world_size,
        "threads": torch.get_num_threads(),
        "peak_rss_mb": round(peak, 1),
        "fingerprint": fingerprint,
        "versions": library_versions(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    tmp = output_dir / f".{PROVENANCE_FILE}.tmp"
    tmp.write_text(strict_dumps(provenance, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(output_dir / PROVENANCE_FILE)  # written last: the adapter is finished
    shutil.rmtree(ckpt_root, ignore_errors=True)
    return result
