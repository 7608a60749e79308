"""The one-config pipeline: generate → filter → (mine) → train → merge → evaluate.

>>> summary = Runner(load_config("quickstart")).run()

- :mod:`~tripletforge.pipeline.config`: the YAML schema (pydantic), errors that name the fix
- :mod:`~tripletforge.pipeline.context`: the run context (models, backends, data loaded once)
- :mod:`~tripletforge.pipeline.plan`: languages × arms × sizes → stages with typed inputs
- :mod:`~tripletforge.pipeline.preflight`: every file and data set checked before any stage
- :mod:`~tripletforge.pipeline.stages`: one function per stage over the stage libraries
- :mod:`~tripletforge.pipeline.manifest`: per-stage ``manifest.json`` (hashes, versions, seed)
- :mod:`~tripletforge.pipeline.runner`: the loop: skip/resume/force, events, run files
"""

from tripletforge.pipeline.config import (
    QUICKSTART,
    ConfigError,
    PipelineConfig,
    load_config,
    parse_config,
)
from tripletforge.pipeline.plan import build_plan
from tripletforge.pipeline.runner import Runner, RunSummary

__all__ = [
    "QUICKSTART",
    "ConfigError",
    "PipelineConfig",
    "RunSummary",
    "Runner",
    "build_plan",
    "load_config",
    "parse_config",
]
