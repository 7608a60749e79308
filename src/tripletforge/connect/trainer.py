"""``train_connected``: both LUSIFER stages, resumable, into one sentence-transformers folder.

This is the library entry point of ``tripletforge connect train`` and of a pipeline stage:

>>> from tripletforge.connect import ConnectSettings, train_connected
>>> result = train_connected(ConnectSettings(), "runs/connect/model")  # doctest: +SKIP
>>> result.model_dir  # doctest: +SKIP
PosixPath('runs/connect/model')

Output folder (``out_dir``)::

    modules.json, connect_config.json, encoder/, target/, connector.safetensors, 1_Pooling/ …
                                  the connected model (see :mod:`tripletforge.connect.module`)
    tripletforge_connect.json     provenance: settings and their hash, data read and refused,
                                  both stages' steps, losses, speed and wall time, versions
    stages/align/                 stage (a): the aligned model, ``align_log.csv``, ``stage.json``
    stages/finetune/              stage (b): English triplets, checkpoints, the trained model

``stages/`` is removed after success unless ``keep_stages``. Re-running with the same settings
returns the finished model at once; after a crash, a finished stage (a) is reused and stage (b)
resumes from its latest checkpoint. Settings that change a stage redo it (and what follows).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tripletforge.connect.settings import ConnectSettings

PROVENANCE_FILE = "tripletforge_connect.json"
STAGES_DIR = "stages"
STAGE_FILE = "stage.json"

#: Settings fields that shape stage (a); stage (b) depends on everything.
ALIGN_FIELDS = (
    "encoder",
    "target",
    "target_pooling",
    "max_seq_length",
    "connector",
    "align",
    "english_min_confidence",
    "seed",
)


@dataclass
class ConnectResult:
    """The finished model folder, its provenance, and whether it was already there."""

    model_dir: Path
    provenance: dict[str, Any]
    reused: bool = False


def _hash(settings: ConnectSettings, fields: tuple[str, ...]) -> str:
    """Hash of the settings ``fields`` (what one stage depends on)."""
    import hashlib

    text = json.dumps(settings.model_dump(mode="json", include=set(fields)), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def finished(out_dir: Path, settings: ConnectSettings) -> dict[str, Any] | None:
    """The provenance of a finished model in ``out_dir`` trained with these settings, if any."""
    provenance = _read_json(Path(out_dir) / PROVENANCE_FILE)
    same = provenance is not None and provenance.get("settings_hash") == settings.hash()
    return provenance if same and (Path(out_dir) / "modules.json").is_file() else None


def train_connected(
    settings: ConnectSettings,
    out_dir: str | Path,
    *,
    progress: bool = True,
    force: bool = False,
) -> ConnectResult:
    """Align (stage a) then fine-tune (stage b) a connected model; save it to ``out_dir``.

    Args:
        settings: validated :class:`ConnectSettings`.
        out_dir: the model folder to write (created; see the module docstring for contents).
        progress: show one progress bar per stage.
        force: redo both stages even if ``out_dir`` holds a finished model or stage folders.

    Returns:
        :class:`ConnectResult`; ``reused`` is True when nothing had to be trained.

    Raises:
        FileExistsError: ``out_dir`` holds a model trained with other settings (use ``force``).
        FileNotFoundError: a data file that does not exist.
        ValueError: too little English data, or settings the models cannot honour.
    """
    out_dir = Path(out_dir)
    if not force and (provenance := finished(out_dir, settings)):
        return ConnectResult(out_dir, provenance, reused=True)
    old = _read_json(out_dir / PROVENANCE_FILE)
    if old is not None and not force:
        raise FileExistsError(
            f"{out_dir} holds a connected model trained with other settings "
            f"(hash {old.get('settings_hash')} ≠ {settings.hash()}); pass force or another folder"
        )
    stages = out_dir / STAGES_DIR
    if force:
        shutil.rmtree(stages, ignore_errors=True)
        (out_dir / PROVENANCE_FILE).unlink(missing_ok=True)
    started = time.time()

    from tripletforge.connect.data import alignment_texts, finetune_triplets

    align_data = alignment_texts(settings.align.data, settings.english_min_confidence)
    if not align_data.items:
        raise ValueError(f"no English sentence left for alignment in {align_data.files}")
    ft_data = None
    if settings.finetune.enabled:
        ft_data = finetune_triplets(settings.finetune.data, settings.english_min_confidence)
        if len(ft_data.items) < settings.finetune.batch_size:
            raise ValueError(
                f"{len(ft_data.items)} English triplets in {ft_data.files}, fewer than one batch "
                f"of finetune.batch_size={settings.finetune.batch_size}"
            )

    model, align_record = _stage_align(settings, stages / "align", align_data.items, progress)
    provenance: dict[str, Any] = {
        "method": "LUSIFER (Man et al., 2025, arXiv 2501.00874): frozen multilingual encoder → "
        "connector → English-centric target; trained on English only",
        "settings": settings.model_dump(mode="json"),
        "settings_hash": settings.hash(),
        "seed": settings.seed,
        "data": {"align": align_data.summary()},
        "align": align_record,
    }
    if ft_data is not None:
        provenance["data"]["finetune"] = ft_data.summary()
        provenance["finetune"] = _stage_finetune(
            settings,
            stages / "finetune",
            model,
            ft_data.items,
            stages / "align",
            out_dir,
            progress,
        )
    else:
        model.save(str(out_dir), create_model_card=False)  # ours: cards.py
    import torch

    from tripletforge.provenance import library_versions

    provenance["versions"] = library_versions()
    provenance["torch_threads"] = torch.get_num_threads()
    provenance["device"] = str(model.device)
    provenance["wall_seconds"] = round(time.time() - started, 1)
    (out_dir / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2, default=str) + "\n")
    write_connected_card(out_dir, settings, provenance)
    if not settings.keep_stages:
        shutil.rmtree(stages, ignore_errors=True)
    return ConnectResult(out_dir, provenance)


def _stage_align(
    settings: ConnectSettings, folder: Path, texts: list[str], progress: bool
) -> tuple[Any, dict[str, Any]]:
    """Stage (a), or the finished stage (a) from an earlier run with the same settings."""
    key = _hash(settings, ALIGN_FIELDS)
    record = _read_json(folder / STAGE_FILE)
    if record and record.get("hash") == key and (folder / "modules.json").is_file():
        from tripletforge.connect.build import resolve_device
        from tripletforge.models import load_encoder

        model = load_encoder(str(folder), device=resolve_device(settings.device))
        return model, {**record["report"], "reused": True}

    from tripletforge.connect.align import align_connector
    from tripletforge.connect.build import build_connected_model

    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(folder.parent / "finetune", ignore_errors=True)  # built on the old stage (a)
    folder.mkdir(parents=True)
    built = build_connected_model(settings)
    report = align_connector(
        built,
        texts,
        settings.align,
        seed=settings.seed,
        log_path=folder / "align_log.csv",
        progress=progress,
    )
    built.model.save(str(folder), create_model_card=False)
    summary = {k: v for k, v in report.to_dict().items() if k != "log"}
    (folder / STAGE_FILE).write_text(json.dumps({"hash": key, "report": summary}, indent=2) + "\n")
    return built.model, summary


def _stage_finetune(
    settings: ConnectSettings,
    folder: Path,
    model: Any,
    rows: list[dict[str, Any]],
    align_dir: Path,
    out_dir: Path,
    progress: bool = True,
) -> dict[str, Any]:
    """Stage (b) (resuming its checkpoints), then the final model with LoRA merged."""
    from tripletforge.connect.finetune import finetune_connected
    from tripletforge.models import load_encoder
    from tripletforge.train import PROVENANCE_FILE as TRAIN_PROVENANCE

    key = settings.hash()
    record = _read_json(folder / STAGE_FILE)
    trained_dir = folder / "model"
    if not record or record.get("hash") != key:
        shutil.rmtree(folder, ignore_errors=True)
    elif (trained_dir / TRAIN_PROVENANCE).is_file():  # trained; only the final save was missing
        rows = []
    folder.mkdir(parents=True, exist_ok=True)
    (folder / STAGE_FILE).write_text(json.dumps({"hash": key}) + "\n")
    if rows:
        trained_dir = finetune_connected(
            model, rows, settings, folder, model_name=str(align_dir), progress=progress
        )
    trained = load_encoder(str(trained_dir), device=str(model.device))
    trained[0].merge_lora()
    trained.save(str(out_dir), create_model_card=False)
    training = _read_json(trained_dir / TRAIN_PROVENANCE) or {}
    metrics = training.get("train_metrics") or {}
    return {
        "rows": training.get("rows"),
        "data_sha256": training.get("data_sha256"),
        "global_step": training.get("global_step"),
        "train_loss": training.get("train_loss"),
        "seconds": metrics.get("train_runtime"),
        "steps_per_second": metrics.get("train_steps_per_second"),
        "resumed_from": training.get("resumed_from"),
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "lora_merged": bool(settings.finetune.lora_r),
        "log_history": training.get("log_history"),
        "wall_seconds": training.get("wall_seconds"),
    }


def write_connected_card(
    out_dir: Path, settings: ConnectSettings, provenance: dict[str, Any]
) -> Path:
    """The connected model's card (:mod:`tripletforge.cards`, origin ``connected``).

    Base model: the target (whose embedding space the model writes into); the encoder, the
    connector and both stages are in the details; the training data is English only (counts
    of what the English guard kept and refused). Licence: the encoder's and the target's when
    they agree, else ``other`` with both named in the details.
    """
    from tripletforge.cards import ModelCardInfo, command_line, write_model_card
    from tripletforge.models.registry import BUILTIN_MODELS

    licences = {
        name: BUILTIN_MODELS[name].license if name in BUILTIN_MODELS else None
        for name in (settings.encoder, settings.target)
    }
    known = set(licences.values())
    licence = known.pop() if len(known) == 1 and None not in known else "other"
    data = provenance.get("data", {})
    training_data = {
        "language": "eng only (no target-language text; English guard)",
        **{
            f"{stage} {key}": value
            for stage, summary in data.items()
            for key, value in (
                ("kept", summary.get("kept")),
                ("files", summary.get("files")),
                ("refused as non-English", summary.get("english_guard", {}).get("refused")),
            )
        },
    }
    align = provenance.get("align", {})
    finetune = provenance.get("finetune") or {}
    details = {
        "method": "LUSIFER (Man et al., 2025, arXiv 2501.00874)",
        "encoder (frozen)": settings.encoder,
        "target": settings.target,
        "target pooling": settings.target_pooling,
        "connector": settings.connector.model_dump(mode="json"),
        "licences": {k: v or "unknown" for k, v in licences.items()},
        "stage (a) objective": settings.align.objective,
        "stage (a) steps": align.get("steps"),
        "stage (b)": (
            f"{finetune.get('global_step')} steps, MNRL scale {settings.finetune.scale}, "
            f"LoRA r={settings.finetune.lora_r}"
            if finetune
            else "off"
        ),
        "seed": settings.seed,
        "settings hash": provenance.get("settings_hash"),
    }
    info = ModelCardInfo(
        model_name=Path(out_dir).resolve().name,
        origin="connected",
        base_model=settings.target,
        license=licence,
        command=command_line(),
        training_data=training_data,
        details=details,
        description="A frozen multilingual encoder connected to an English-centric embedding "
        "model through a trained connector (LUSIFER), trained on English only. Load with "
        "`trust_remote_code=True` (tripletforge's connector module; tripletforge installed).",
    )
    return write_model_card(out_dir, info)
