"""Readers for the evaluation and seed data formats, each returning a contract set.

Every reader returns one of the evaluation contracts of :mod:`tripletforge.data.schemas`
(``PairSet``, ``BitextSet``, ``LabelledSet``, ``LabelledPairSet``, ``RetrievalSet``) with
``files`` (the paths read) and a
:class:`~tripletforge.data.schemas.ReadReport`: bad rows are skipped and recorded with file,
line and reason, never raised. A missing file raises :class:`FileNotFoundError`.

>>> pairs = read_dataset("semrel", path="semrel2024/Track_A/hau/hau_dev_with_labels.csv")
>>> print(pairs.report.summary())  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tripletforge.data.readers.bitext import (
    NUSAX_COLUMNS,
    read_flores_parallel,
    read_nusax,
    read_tatoeba,
    sib200_folder,
)
from tripletforge.data.readers.labelled import read_afrisenti, read_nusax_senti, read_sib200_topics
from tripletforge.data.readers.pairclass import read_americasnli, read_kornli, read_xnli
from tripletforge.data.readers.retrieval import read_beir
from tripletforge.data.readers.sts import read_korsts, read_semrel, read_sts17, read_stsb_multi_mt
from tripletforge.data.readers.table import TABLE_FORMATS, read_table
from tripletforge.data.schemas import EvalSet

#: Format name → reader function.
READERS: dict[str, Callable[..., EvalSet]] = {
    "semrel": read_semrel,
    "stsb_multi_mt": read_stsb_multi_mt,
    "sts17": read_sts17,
    "korsts": read_korsts,
    "tatoeba": read_tatoeba,
    "flores": read_flores_parallel,
    "sib200": read_flores_parallel,
    "nusax": read_nusax,
    "table": read_table,
    "sib200_topics": read_sib200_topics,
    "afrisenti": read_afrisenti,
    "nusax_senti": read_nusax_senti,
    "americasnli": read_americasnli,
    "xnli": read_xnli,
    "kornli": read_kornli,
    "beir": read_beir,
}


def read_dataset(format: str, **kwargs: Any) -> EvalSet:
    """Read a data set with the reader registered for ``format`` (see :data:`READERS`)."""
    key = format.strip().lower().replace("-", "_")
    if key not in READERS:
        raise ValueError(f"unknown data format {format!r}; known formats: {', '.join(READERS)}")
    return READERS[key](**kwargs)


__all__ = [
    "NUSAX_COLUMNS",
    "READERS",
    "TABLE_FORMATS",
    "read_afrisenti",
    "read_americasnli",
    "read_beir",
    "read_dataset",
    "read_flores_parallel",
    "read_kornli",
    "read_korsts",
    "read_nusax",
    "read_nusax_senti",
    "read_semrel",
    "read_sib200_topics",
    "read_sts17",
    "read_stsb_multi_mt",
    "read_table",
    "read_tatoeba",
    "read_xnli",
    "sib200_folder",
]
