"""Model merging: combine fine-tuned encoders with their base or with each other.

- :mod:`~tripletforge.merge.methods`: linear (WiSE-FT), weighted averages (soups), SLERP,
  task arithmetic and TIES on parameter dictionaries;
- :mod:`~tripletforge.merge.models`: compatibility checks and loading/saving
  sentence-transformers folders;
- :mod:`~tripletforge.merge.search`: choose the interpolation weight on dev data only (a
  tolerance per language; who pays when one model cannot serve all), and
  :func:`~tripletforge.merge.search.wise_ft` (search + merge; the CLI and the pipeline);
- :mod:`~tripletforge.merge.checkpoints`: per-language checkpoint soups.
"""

from tripletforge.merge.methods import (
    MERGE_METHODS,
    linear,
    slerp,
    task_arithmetic,
    ties,
    weighted_average,
)
from tripletforge.merge.models import IncompatibleModelsError, merge_models
from tripletforge.merge.search import (
    AlphaSearchResult,
    choose_alpha,
    search_alpha,
    tolerance_for,
    wise_ft,
)

__all__ = [
    "MERGE_METHODS",
    "AlphaSearchResult",
    "IncompatibleModelsError",
    "choose_alpha",
    "linear",
    "merge_models",
    "search_alpha",
    "slerp",
    "task_arithmetic",
    "ties",
    "tolerance_for",
    "weighted_average",
    "wise_ft",
]
