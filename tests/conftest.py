"""Shared fixtures: offline switches, the shared data folder and tiny models built on the fly."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

# Offline and thread settings must be in place before torch/transformers are imported.
for _key, _value in {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "OMP_NUM_THREADS": "1",
    "OMP_WAIT_POLICY": "PASSIVE",
    "RAY_USAGE_STATS_ENABLED": "0",
}.items():
    os.environ.setdefault(_key, _value)
if "MTEB_CACHE" not in os.environ:
    # mteb's result cache goes to a folder of this test session, removed when it ends.
    _mteb_cache = tempfile.mkdtemp(prefix="mteb-cache-")
    os.environ["MTEB_CACHE"] = _mteb_cache
    atexit.register(shutil.rmtree, _mteb_cache, ignore_errors=True)
# Built-in models are rebuilt into a cache private to this checkout (fresh on a CI clone), so
# the tests exercise the first-use build rather than whatever a user cache holds.
os.environ.setdefault(
    "TRIPLETFORGE_HOME", str(Path(__file__).resolve().parents[1] / ".cache" / "test-home")
)

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("TRIPLETFORGE_SHARED_DATA", ROOT.parent / "shared" / "data"))

TINY_CORPUS = [
    "The cat sits on the mat.",
    "A dog runs in the park.",
    "Children are playing football outside.",
    "Nobody is playing outside.",
    "Ina son karanta littafi.",
    "Yara suna wasa a waje.",
    "Umwana arimo gukina umupira.",
    "Le chat dort sur le canapé.",
    "El perro corre en el parque.",
    "ድመቷ በምንጣፉ ላይ ተቀምጣለች።",
    "मांजर चटईवर बसली आहे.",
    "పిల్లి చాప మీద కూర్చుంది.",
]


#: English anchors for generation tests (short, varied, no duplicates).
ENGLISH_SEEDS = [
    "A man is riding a bicycle down the street.",
    "Two children are playing with a ball in the park.",
    "A woman is cooking dinner in the kitchen.",
    "A dog sleeps on the sofa.",
    "An old man reads a newspaper on a bench.",
    "Three people are climbing a mountain.",
]
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tiny_tokenizer(chat_template: str | None = None):
    """A byte-level BPE tokenizer trained on the fly (optionally with a chat template)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "</s>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    corpus = [*TINY_CORPUS, "Premise (Hausa): Entailment Contradiction English sentence true false"]
    tok.train_from_iterator(corpus * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="</s>", pad_token="<pad>")
    if chat_template:
        fast.chat_template = chat_template
    return fast


def tiny_chat_llama(hidden: int = 64, heads: int = 4, max_positions: int = 512):
    """A random 2-layer Llama and its chat-template tokenizer: ``(model, tokenizer)``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = tiny_tokenizer(CHATML)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=2,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=max_positions,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return LlamaForCausalLM(config).eval(), tokenizer


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real development data in ../shared/data (skips the test when absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


#: The built-in e5 encoders' prompts (mteb's names for e5; no default prompt).
E5_PROMPTS = {"query": "query: ", "document": "passage: "}


def build_tiny_encoder(
    path: Path,
    hidden: int = 32,
    layers: int = 2,
    prompts: dict[str, str] | None = None,
    default_prompt_name: str | None = None,
    init_std: float = 0.02,
) -> Path:
    """Write a random-weight BERT sentence-transformers folder with a unigram tokenizer.

    The tokenizer is trained on the fly on :data:`TINY_CORPUS`; pooling is mean; the folder
    carries the built-in default encoder's prompts (:data:`E5_PROMPTS`, no default prompt)
    unless ``prompts``/``default_prompt_name`` say otherwise. A larger ``init_std`` spreads the
    random embeddings out (the default 0.02 makes them nearly collinear).
    """
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from tokenizers.processors import TemplateProcessing
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    torch.manual_seed(0)
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=400, special_tokens=specials, unk_token="<unk>")
    tok.train_from_iterator(TINY_CORPUS * 4, trainer=trainer)
    tok.post_processor = TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        model_max_length=128,
    )
    config = BertConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=hidden * 2,
        max_position_embeddings=130,
        pad_token_id=1,
        initializer_range=init_std,
    )
    bert_dir = path / "_hf"
    BertModel(config).save_pretrained(bert_dir)
    fast.save_pretrained(bert_dir)
    transformer = Transformer(str(bert_dir), max_seq_length=64)
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    model = SentenceTransformer(
        modules=[transformer, pooling],
        prompts=dict(E5_PROMPTS if prompts is None else prompts),
        default_prompt_name=default_prompt_name,
        device="cpu",
    )
    model.save(str(path))
    return path


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of a tiny random sentence-transformers model built once per session."""
    return build_tiny_encoder(tmp_path_factory.mktemp("tiny-encoder"))
