"""tripletforge: sentence-embedding models for low-resource languages from LLM-written triplets.

Pipeline stages, each a subpackage with one data contract (see :mod:`tripletforge.data.schemas`):
``generate`` → ``filter`` → ``train`` → ``evaluate``, driven by ``pipeline`` and summarised by
``report``.
"""

__version__ = "0.1.0"
