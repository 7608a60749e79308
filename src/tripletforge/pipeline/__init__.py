"""The one-config pipeline: generate → filter → (mine) → train → merge → evaluate.

>>> summary = Runner(load_config("quickstart")).run()

- :mod:`~tripletforge.pipeline.config`: the YAML schema (pydantic), errors that name the fix
- :mod:`~tripletforge.pipeline.manifest`: per-stage ``manifest.json`` (hashes, versions, seed)
- :mod:`~tripletforge.pipeline.stages`: one function per stage over the stage libraries
- :mod:`~tripletforge.pipeline.runner`: the plan, skip/resume/force, the run folder
"""

from tripletforge.pipeline.config import (
    QUICKSTART,
    ConfigError,
    PipelineConfig,
    load_config,
    parse_config,
)
from tripletforge.pipeline.runner import Runner, RunSummary, build_plan

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
