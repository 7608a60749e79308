"""Evaluate sentence encoders: STS, bitext mining, retrieval and embedding-space geometry.

Entry point: :func:`evaluate_model` (``tripletforge evaluate`` on the command line).
"""

from tripletforge.evaluate.bitext import bitext_scores
from tripletforge.evaluate.cache import CachingEncoder, EmbeddingCache
from tripletforge.evaluate.fingerprint import model_fingerprint
from tripletforge.evaluate.geometry import alignment, geometry_scores, uniformity
from tripletforge.evaluate.results import DatasetResult, EvaluationResult
from tripletforge.evaluate.retrieval import retrieval_scores
from tripletforge.evaluate.runner import evaluate_loaded, evaluate_model
from tripletforge.evaluate.sts import sts_scores
from tripletforge.evaluate.suite import DatasetSpec, Suite, SuiteError, load_suite

__all__ = [
    "CachingEncoder",
    "DatasetResult",
    "DatasetSpec",
    "EmbeddingCache",
    "EvaluationResult",
    "Suite",
    "SuiteError",
    "alignment",
    "bitext_scores",
    "evaluate_loaded",
    "evaluate_model",
    "geometry_scores",
    "load_suite",
    "model_fingerprint",
    "retrieval_scores",
    "sts_scores",
    "uniformity",
]
