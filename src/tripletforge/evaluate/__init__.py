"""Evaluate sentence encoders the way MTEB does, on local data.

Task types: STS, bitext mining, retrieval, reranking, classification, clustering and pair
classification, each scored by mteb's own evaluator with mteb's prompt protocol
(:mod:`tripletforge.models.prompts`) and main score, plus the alignment and uniformity of the
embedding space. Entry point: :func:`evaluate_model` (``tripletforge evaluate``).
"""

from tripletforge.evaluate.bitext import margin_accuracy
from tripletforge.evaluate.cache import CachingEncoder, EmbeddingCache
from tripletforge.evaluate.duplicates import text_key
from tripletforge.evaluate.fingerprint import model_fingerprint
from tripletforge.evaluate.geometry import alignment, geometry_scores, uniformity
from tripletforge.evaluate.mteb_tasks import MAIN_SCORES
from tripletforge.evaluate.results import DatasetResult, EvaluationResult
from tripletforge.evaluate.runner import evaluate_loaded, evaluate_model
from tripletforge.evaluate.suite import DatasetSpec, Suite, SuiteError, load_suite

__all__ = [
    "MAIN_SCORES",
    "CachingEncoder",
    "DatasetResult",
    "DatasetSpec",
    "EmbeddingCache",
    "EvaluationResult",
    "Suite",
    "SuiteError",
    "alignment",
    "evaluate_loaded",
    "evaluate_model",
    "geometry_scores",
    "load_suite",
    "margin_accuracy",
    "model_fingerprint",
    "text_key",
    "uniformity",
]
