"""Readers for the evaluation and seed data formats, each returning a contract set.

Every reader returns a :class:`~tripletforge.data.schemas.PairSet` or
:class:`~tripletforge.data.schemas.BitextSet` with ``files`` (the paths read) and a
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
from tripletforge.data.readers.sts import read_korsts, read_semrel, read_sts17, read_stsb_multi_mt
from tripletforge.data.readers.table import TABLE_FORMATS, read_table
from tripletforge.data.schemas import BitextSet, PairSet

#: Format name → reader function.
READERS: dict[str, Callable[..., PairSet | BitextSet]] = {
    "semrel": read_semrel,
    "stsb_multi_mt": read_stsb_multi_mt,
    "sts17": read_sts17,
    "korsts": read_korsts,
    "tatoeba": read_tatoeba,
    "flores": read_flores_parallel,
    "sib200": read_flores_parallel,
    "nusax": read_nusax,
    "table": read_table,
}


def read_dataset(format: str, **kwargs: Any) -> PairSet | BitextSet:
    """Read a data set with the reader registered for ``format`` (see :data:`READERS`)."""
    key = format.strip().lower().replace("-", "_")
    if key not in READERS:
        raise ValueError(f"unknown data format {format!r}; known formats: {', '.join(READERS)}")
    return READERS[key](**kwargs)


__all__ = [
    "NUSAX_COLUMNS",
    "READERS",
    "TABLE_FORMATS",
    "read_dataset",
    "read_flores_parallel",
    "read_korsts",
    "read_nusax",
    "read_semrel",
    "read_sts17",
    "read_stsb_multi_mt",
    "read_table",
    "read_tatoeba",
    "sib200_folder",
]
