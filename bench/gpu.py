"""GPU benchmark: encoder training steps/s and generation tokens/s, one table, offline.

    bash bench/gpu.sh            # full shapes, for a lent accelerator (<= 8 minutes)
    bash bench/gpu.sh --small    # tiny shapes on CPU (what the tests run)

Nothing is downloaded and no weights are carried: the models are built from configs with
random weights, in the real shapes (the speed of a step does not depend on the weights):

- encoder: multilingual-e5-small (BertModel: 12 layers, hidden 384, 12 heads, FFN 1536,
  vocabulary 250,002), trained with the MultipleNegativesRankingLoss step the toolkit uses
  (anchor, positive, hard negative; mean pooling; cosine x scale 20; cross-entropy over the
  in-batch candidates), AdamW, bf16 autocast with fp32 weights (``bf16=True`` in the HF
  Trainer), at the paper's batch of 512 triplets x 32 tokens;
- generator: SmolLM2-135M (Llama: 30 layers, hidden 576, 9 heads / 3 KV heads, FFN 1536,
  vocabulary 49,152), bf16 on GPU, with a word-level tokenizer over the whole vocabulary (one
  word, one token), plain-text prompts of 24-64 tokens, sampling (temperature 0.7, top-p
  0.95), ``--max-tokens`` new tokens. Rows: tripletforge's ``transformers`` backend at batch
  1/32/128 without and with a LoRA adapter (r=8 on every linear layer, applied per request as
  the ``xlora``/``compose`` strategies do), and the seed-style loop (plain ``generate``, inputs
  padded to 256 tokens, fixed batch) on the same model. Tokens are counted up to each row's
  end of sequence.

Each number is measured after a warm-up call, with the device synchronised. ``--small`` swaps
every shape for a tiny one (2 layers, hidden 64) so that the whole script runs on a CPU in
seconds.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@dataclass(frozen=True)
class Shapes:
    """Model shapes and workload of one run."""

    # encoder (multilingual-e5-small)
    enc_vocab: int = 250_002
    enc_hidden: int = 384
    enc_layers: int = 12
    enc_heads: int = 12
    enc_ffn: int = 1536
    train_batch: int = 512
    seq_len: int = 32
    warmup_steps: int = 3
    steps: int = 20
    # generator (SmolLM2-135M)
    gen_vocab: int = 49_152
    gen_hidden: int = 576
    gen_layers: int = 30
    gen_heads: int = 9
    gen_kv_heads: int = 3
    gen_ffn: int = 1536
    gen_batches: tuple[int, ...] = (1, 32, 128)
    batches_per_row: int = 2  # batches timed per row (batch 1: 4x as many requests)
    prompt_tokens: tuple[int, int] = (24, 64)
    max_tokens: int = 64
    lora_rank: int = 8
    seed_loop_pad: int = 256


SMALL = Shapes(
    enc_vocab=1000,
    enc_hidden=64,
    enc_layers=2,
    enc_heads=4,
    enc_ffn=128,
    train_batch=8,
    seq_len=16,
    warmup_steps=1,
    steps=2,
    gen_vocab=512,
    gen_hidden=64,
    gen_layers=2,
    gen_heads=4,
    gen_kv_heads=2,
    gen_ffn=128,
    gen_batches=(1, 2, 4),
    batches_per_row=1,
    prompt_tokens=(8, 24),
    max_tokens=4,
    lora_rank=4,
    seed_loop_pad=32,
)


@dataclass
class Result:
    what: str
    batch: str
    value: float
    unit: str
    note: str = ""


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


# --- encoder training -------------------------------------------------------------------------


def encoder_steps_per_s(shapes: Shapes, device: str) -> float:
    """Steps/s of the MNRL step on a random e5-small-shaped BertModel (bf16 autocast)."""
    import torch
    import torch.nn.functional as F
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=shapes.enc_vocab,
        hidden_size=shapes.enc_hidden,
        num_hidden_layers=shapes.enc_layers,
        num_attention_heads=shapes.enc_heads,
        intermediate_size=shapes.enc_ffn,
        max_position_embeddings=514,
        type_vocab_size=2,
        layer_norm_eps=1e-12,
    )
    model = BertModel(config, add_pooling_layer=False).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5, fused=device.startswith("cuda"))
    b, n = shapes.train_batch, shapes.seq_len
    columns = [
        torch.randint(5, shapes.enc_vocab, (b, n), device=device) for _ in range(3)
    ]  # anchor, positive, hard negative
    mask = torch.ones(b, n, dtype=torch.long, device=device)
    labels = torch.arange(b, device=device)
    dtype = torch.bfloat16

    def step() -> None:
        with torch.autocast(device_type=device.split(":")[0], dtype=dtype):
            embeddings = []
            for ids in columns:  # one forward per column, as sentence-transformers does
                hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
                pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
                embeddings.append(F.normalize(pooled.float(), dim=-1))
            anchor, candidates = embeddings[0], torch.cat(embeddings[1:])
            loss = F.cross_entropy(anchor @ candidates.T * 20.0, labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(shapes.warmup_steps):
        step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(shapes.steps):
        step()
    _sync(device)
    return shapes.steps / (time.perf_counter() - start)


# --- generation -------------------------------------------------------------------------------


def word_tokenizer(vocab: int) -> Any:
    """A word-level fast tokenizer with one token per id (``<pad>``, ``</s>``, ``<unk>``, wN)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = {"<pad>": 0, "</s>": 1, "<unk>": 2, **{f"w{i}": i for i in range(3, vocab)}}
    tok = Tokenizer(models.WordLevel(words, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    fast.padding_side = "left"
    return fast


def build_generator(shapes: Shapes, device: str) -> tuple[Any, Any]:
    """A random SmolLM2-shaped Llama (bf16 on GPU) and its word-level tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = word_tokenizer(shapes.gen_vocab)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=shapes.gen_vocab,
        hidden_size=shapes.gen_hidden,
        intermediate_size=shapes.gen_ffn,
        num_hidden_layers=shapes.gen_layers,
        num_attention_heads=shapes.gen_heads,
        num_key_value_heads=shapes.gen_kv_heads,
        max_position_embeddings=8192,
        rope_theta=100_000.0,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
        pad_token_id=0,
        bos_token_id=None,
        eos_token_id=1,
    )
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    model = LlamaForCausalLM(config).to(device=device, dtype=dtype).eval()
    return model, tokenizer


def random_adapter(model: Any, out: Path, rank: int) -> Path:
    """Save a LoRA of ``rank`` on every linear layer (random A, small random B); the model is
    left as it was."""
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(1)
    config = LoraConfig(
        r=rank, lora_alpha=2 * rank, target_modules="all-linear", init_lora_weights=False
    )
    peft = get_peft_model(model, config)
    with torch.no_grad():
        for name, param in peft.named_parameters():
            if "lora_B" in name:
                param.mul_(0.02)
    peft.save_pretrained(out)
    peft.unload()
    return out


def prompts(shapes: Shapes, n: int) -> list[str]:
    rng = random.Random(0)
    low, high = shapes.prompt_tokens
    return [
        " ".join(f"w{rng.randrange(3, shapes.gen_vocab)}" for _ in range(rng.randint(low, high)))
        for _ in range(n)
    ]


def _requests(texts: list[str], adapter: str | None) -> list[Any]:
    from tripletforge.generate.requests import GenerationRequest

    return [
        GenerationRequest(seed_id=f"s{i}", pass_="positive", prompt_id="bench", seed=i, text=t,
                          adapter=adapter)
        for i, t in enumerate(texts)
    ]  # fmt: skip


def backend_tokens_per_s(backend: Any, texts: list[str], batch: int, shapes: Shapes,
                         adapter: str | None, device: str) -> float:  # fmt: skip
    """tokens/s of the transformers backend over ``texts`` (batch size ``batch``)."""
    from tripletforge.generate.requests import SamplingParams

    sampling = SamplingParams(temperature=0.7, top_p=0.95, max_tokens=shapes.max_tokens)
    backend.batch_size = batch
    backend.generate(_requests(texts[:batch], adapter), sampling)  # warm-up
    before = backend.tokens_generated
    _sync(device)
    start = time.perf_counter()
    backend.generate(_requests(texts, adapter), sampling)
    _sync(device)
    return (backend.tokens_generated - before) / (time.perf_counter() - start)


def seed_loop_tokens_per_s(model: Any, tokenizer: Any, texts: list[str], batch: int,
                           shapes: Shapes, device: str) -> float:  # fmt: skip
    """tokens/s of plain ``generate``, inputs padded to ``seed_loop_pad`` tokens, fixed batch."""
    import torch

    def run(chunk: list[str]) -> int:
        enc = tokenizer(
            chunk,
            return_tensors="pt",
            padding="max_length",
            max_length=shapes.seed_loop_pad,
            add_special_tokens=False,
        ).to(device)
        with torch.inference_mode():
            out = model.generate(
                **enc,
                max_new_tokens=shapes.max_tokens,
                do_sample=True,
                temperature=0.7,
                top_p=0.95,
                pad_token_id=tokenizer.pad_token_id,
            )
        new = out[:, enc["input_ids"].shape[1] :].tolist()
        ends = {tokenizer.eos_token_id, tokenizer.pad_token_id}
        tokenizer.batch_decode(new, skip_special_tokens=True)
        return sum(next((i for i, t in enumerate(row) if t in ends), len(row)) for row in new)

    run(texts[:batch])  # warm-up
    _sync(device)
    tokens, start = 0, time.perf_counter()
    for i in range(0, len(texts), batch):
        torch.manual_seed(i)
        tokens += run(texts[i : i + batch])
    _sync(device)
    return tokens / (time.perf_counter() - start)


def generation_rows(shapes: Shapes, device: str, tmp: Path) -> list[Result]:
    model, tokenizer = build_generator(shapes, device)
    adapter = str(random_adapter(model, tmp / "lora", shapes.lora_rank))
    work = {b: prompts(shapes, b * shapes.batches_per_row * (4 if b == 1 else 1))
            for b in shapes.gen_batches}  # fmt: skip
    seed = {b: seed_loop_tokens_per_s(model, tokenizer, work[b], b, shapes, device)
            for b in shapes.gen_batches}  # fmt: skip
    rows = []
    try:
        from tripletforge.generate.backends.transformers_backend import TransformersBackend
    except ImportError as error:  # tripletforge's light dependencies missing (see gpu.sh)
        rows.append(Result("generate, transformers backend", "-", float("nan"), "tokens/s",
                           f"not run: {error}"))  # fmt: skip
        backend = None
    else:
        backend = TransformersBackend(
            "random-smollm2-shape", model_obj=model, tokenizer=tokenizer, chat=False
        )
    # base rows first: loading the adapter wraps the model
    for label, name in (("no adapter", None), (f"LoRA r={shapes.lora_rank}", adapter)):
        for b in shapes.gen_batches if backend is not None else ():
            rate = backend_tokens_per_s(backend, work[b], b, shapes, name, device)
            note = f"{rate / seed[b]:.2f}x seed loop" if name is None else ""
            rows.append(Result(f"generate, transformers backend, {label}", str(b), rate,
                               "tokens/s", note))  # fmt: skip
            print(table(rows[-1:]).splitlines()[-1], flush=True)  # partial results, as they come
    for b in shapes.gen_batches:
        rows.append(Result(f"generate, seed-style loop (pad {shapes.seed_loop_pad})", str(b),
                           seed[b], "tokens/s"))  # fmt: skip
    return rows


# --- table ------------------------------------------------------------------------------------


def table(results: list[Result]) -> str:
    head = "| measurement | batch | value | unit | note |\n|---|---|---|---|---|"
    lines = [f"| {r.what} | {r.batch} | {r.value:.2f} | {r.unit} | {r.note} |" for r in results]
    return "\n".join([head, *lines])


def run(shapes: Shapes, device: str) -> list[Result]:
    import torch

    results = [
        Result(
            "encoder training, e5-small shape, MNRL + hard negative, bf16",
            f"{shapes.train_batch} x {shapes.seq_len} tok",
            encoder_steps_per_s(shapes, device),
            "steps/s",
        )
    ]
    print(table(results[-1:]).splitlines()[-1], flush=True)
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    with tempfile.TemporaryDirectory() as tmp:
        for row in generation_rows(shapes, device, Path(tmp)):
            results.append(row)
    return results


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="tiny shapes (CPU, seconds)")
    parser.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    parser.add_argument("--train-batch", type=int, help="override the training batch")
    parser.add_argument("--steps", type=int, help="override the timed training steps")
    parser.add_argument("--gen-batches", help="override the generation batches, e.g. 1,32")
    parser.add_argument("--max-tokens", type=int, help="override the new tokens per prompt")
    args = parser.parse_args(argv)
    import torch

    shapes = SMALL if args.small else Shapes()
    overrides: dict[str, Any] = {
        "train_batch": args.train_batch,
        "steps": args.steps,
        "max_tokens": args.max_tokens,
        "gen_batches": tuple(int(b) for b in args.gen_batches.split(","))
        if args.gen_batches
        else None,
    }
    shapes = replace(shapes, **{k: v for k, v in overrides.items() if v is not None})
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    name = torch.cuda.get_device_name(device) if device.startswith("cuda") else "CPU"
    threads = torch.get_num_threads()
    print(f"device: {name}; torch {torch.__version__}; {threads} CPU threads", flush=True)
    start = time.perf_counter()
    results = run(shapes, device)
    print(f"\n{table(results)}\n\n({time.perf_counter() - start:.0f} s in all)", flush=True)
    return results


if __name__ == "__main__":
    main()
