"""OpenVINO inference for sentence-transformers encoders on CPU (evaluation speed).

sentence-transformers' own ``backend="openvino"`` needs ``optimum-intel``, whose releases pin
other torch/transformers versions than this package; this module does the same job with
``openvino`` alone (``pip install openvino``): the encoder's transformer is converted once
with ``openvino.convert_model`` (fp32, dynamic batch and length), saved as OpenVINO IR in the
model folder (``<model>/.openvino/openvino_model.xml`` + ``.bin``; hidden, so model
fingerprints and manifests ignore it) and reused from there. Tokenisation, pooling and
normalisation stay sentence-transformers' own modules; only the transformer's forward pass
runs in OpenVINO (``INFERENCE_PRECISION_HINT=f32``, no bf16, so embeddings equal PyTorch's:
every export is checked on probe texts and refused beyond 1e-4 cosine distance).

Opt-in (``tripletforge evaluate --backend openvino``; ``auto`` reuses an existing IR). Measured
with ``bench/bench_encode.py`` on e5-small, 1 thread of 2 shared cores: 23.5 vs 23.7
sentences/s (no speed-up), max cosine distance 2.4e-7; the conversion takes ~18 s and the IR
is a second fp32 copy of the weights (470 MB for e5-small).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

IR_FOLDER = ".openvino"
IR_FILE = "openvino_model.xml"
STAMP = "source.json"
#: Largest cosine distance allowed between OpenVINO and PyTorch embeddings of the probes.
PARITY_TOLERANCE = 1e-4
PROBES = [
    "query: A man is playing a guitar on stage.",
    "passage: Yara suna wasa a waje bayan makaranta.",
    "ድመቷ በምንጣፉ ላይ ተቀምጣለች።",
    "Ni",
]


class OpenVinoUnavailableError(RuntimeError):
    """The encoder cannot run on OpenVINO (not installed, unsupported model, parity failed)."""


def openvino_available() -> bool:
    """Whether the ``openvino`` package is installed."""
    return importlib.util.find_spec("openvino") is not None


def ir_path(folder: str | Path) -> Path:
    """Where a model folder's OpenVINO IR lives."""
    return Path(folder) / IR_FOLDER / IR_FILE


def has_ir(folder: str | Path, fingerprint: str | None = None) -> bool:
    """Whether ``folder`` holds an IR exported from its current weights (``fingerprint``)."""
    path = ir_path(folder)
    if not path.is_file():
        return False
    if fingerprint is None:
        return True
    try:
        stamp = json.loads((path.parent / STAMP).read_text())
    except (OSError, ValueError):
        return False
    return stamp.get("fingerprint") == fingerprint


class _OpenVinoTransformer:
    """Callable stand-in for a Hugging Face encoder: ``(**inputs) → {"last_hidden_state"}``."""

    def __init__(self, compiled: Any, inputs: list[str]) -> None:
        self.compiled = compiled
        self.inputs = inputs
        self.request = compiled.create_infer_request()

    def __call__(self, **features: Any) -> dict[str, Any]:
        import torch

        feed = {name: features[name].cpu().numpy() for name in self.inputs if name in features}
        out = self.request.infer(feed)
        return {"last_hidden_state": torch.from_numpy(out[0].copy())}


def _module_class() -> type:
    import torch

    class OpenVinoModule(torch.nn.Module):
        """The transformer module's ``model``, running the IR; keeps the HF ``config``."""

        def __init__(self, runner: _OpenVinoTransformer, config: Any) -> None:
            super().__init__()
            self.runner = runner
            self.config = config

        def forward(self, **features: Any) -> dict[str, Any]:
            return self.runner(**features)

    return OpenVinoModule


def _transformer(model: SentenceTransformer) -> Any:
    from sentence_transformers.sentence_transformer.modules import Transformer

    first = model[0]
    if not isinstance(first, Transformer) or not hasattr(first, "model"):
        raise OpenVinoUnavailableError("only encoders whose first module is a Transformer")
    return first


def _inputs(model: SentenceTransformer) -> tuple[list[str], dict[str, Any]]:
    features = model.preprocess(PROBES[:2])
    names = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in features]
    return names, {k: features[k] for k in names}


def export_ir(model: SentenceTransformer, folder: str | Path, fingerprint: str | None) -> Path:
    """Convert the encoder's transformer to OpenVINO IR in ``folder/.openvino`` and return it.

    Written to a temporary folder that is renamed into place. Raises
    :class:`OpenVinoUnavailableError` when ``openvino`` is missing or conversion fails.
    """
    if not openvino_available():
        raise OpenVinoUnavailableError("openvino is not installed (pip install openvino)")
    import openvino as ov
    import torch

    transformer = _transformer(model)
    names, example = _inputs(model)
    hf = transformer.model

    class Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hf = hf

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor | None = None,
        ) -> torch.Tensor:
            features = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                features["token_type_ids"] = token_type_ids
            return self.hf(**features).last_hidden_state

    try:
        with torch.inference_mode(False), torch.no_grad():
            converted = ov.convert_model(
                Wrapped().eval(),
                example_input=example,
                input=[(k, [-1, -1], ov.Type.i64) for k in names],
            )
    except Exception as exc:  # any conversion failure means: stay on PyTorch
        raise OpenVinoUnavailableError(f"OpenVINO conversion failed: {exc}") from exc
    target = Path(folder) / IR_FOLDER
    staging = target.with_name(f"{IR_FOLDER}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    ov.save_model(converted, str(staging / IR_FILE), compress_to_fp16=False)
    stamp = {"fingerprint": fingerprint, "inputs": names, "openvino": ov.__version__}
    (staging / STAMP).write_text(json.dumps(stamp) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    try:
        staging.rename(target)
    except OSError:  # another process finished first
        shutil.rmtree(staging, ignore_errors=True)
    return target / IR_FILE


def use_openvino(
    model: SentenceTransformer,
    folder: str | Path,
    fingerprint: str | None = None,
    threads: int | None = None,
) -> SentenceTransformer:
    """Run ``model``'s transformer on OpenVINO, exporting the IR into ``folder`` if needed.

    Checks the embeddings of :data:`PROBES` against PyTorch's (cosine distance ≤
    :data:`PARITY_TOLERANCE`) before the PyTorch weights are released. Returns the same model
    object; raises :class:`OpenVinoUnavailableError` (the model is then unchanged).
    """
    if not openvino_available():
        raise OpenVinoUnavailableError("openvino is not installed (pip install openvino)")
    import numpy as np
    import openvino as ov
    import torch

    transformer = _transformer(model)
    if not has_ir(folder, fingerprint):
        export_ir(model, folder, fingerprint)
    names = json.loads((Path(folder) / IR_FOLDER / STAMP).read_text()).get("inputs")
    names = names or _inputs(model)[0]
    threads = threads or torch.get_num_threads()
    config = {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32"}
    try:
        compiled = ov.Core().compile_model(str(ir_path(folder)), "CPU", config)
    except Exception as exc:  # a damaged or incompatible IR: stay on PyTorch
        raise OpenVinoUnavailableError(f"OpenVINO could not load {ir_path(folder)}: {exc}") from exc
    reference = model.encode(PROBES, normalize_embeddings=True, convert_to_numpy=True)
    hf = transformer.model
    transformer.model = _module_class()(_OpenVinoTransformer(compiled, names), hf.config)
    saved_params = transformer.model_forward_params
    transformer.model_forward_params = set(names)
    got = model.encode(PROBES, normalize_embeddings=True, convert_to_numpy=True)
    distance = float(np.max(1.0 - np.sum(reference * got, axis=1)))
    if not distance <= PARITY_TOLERANCE:
        transformer.model, transformer.model_forward_params = hf, saved_params
        raise OpenVinoUnavailableError(
            f"OpenVINO embeddings differ from PyTorch's (cosine distance {distance:.2e})"
        )
    log.info("encoder %s runs on OpenVINO (probe cosine distance %.1e)", folder, distance)
    return model
