"""Progress displays: a live bar on a terminal, plain throttled lines in a log."""

from __future__ import annotations

import io

from rich.console import Console
from rich.progress import Progress

from tripletforge import progress


def test_log_output_gets_plain_progress_lines(monkeypatch):
    monkeypatch.setattr(progress, "LINE_INTERVAL", 0.0)
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=120)
    with progress.new_display(console) as display:
        task = display.add_task("train hau", total=4, note="")
        for step in range(4):
            display.advance(task)
            display.update(task, note=f"loss {1.0 / (step + 1):.2f}")
    text = out.getvalue()
    assert "train hau 1/4" in text
    assert "train hau 4/4" in text and "loss 0.25" in text


def test_log_lines_are_throttled(monkeypatch):
    monkeypatch.setattr(progress, "LINE_INTERVAL", 3600.0)
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=120)
    with progress.new_display(console) as display:
        task = display.add_task("mine", total=1000, note="")
        for _ in range(1000):
            display.advance(task)
    # no periodic line within the interval; rich prints the finished display once at the end
    assert out.getvalue().count("mine") == 1


def test_terminal_gets_the_live_bar():
    console = Console(file=io.StringIO(), force_terminal=True)
    display = progress.new_display(console)
    assert type(display) is Progress


def test_a_resumed_stage_says_so_when_it_ends() -> None:
    import io

    from rich.console import Console

    from tripletforge.pipeline.display import StageDisplay
    from tripletforge.pipeline.plan import Stage

    for live in (False, True):
        out = io.StringIO()
        display = StageDisplay(Console(file=out, width=120), progress=live)
        stage = Stage("train", "hau", "icl", 8, {})
        with display.running(stage, "resuming"):
            pass
        with display.running(Stage("train", "hau", "icl", 16, {}), "running"):
            pass
        lines = [line for line in out.getvalue().splitlines() if "done in" in line]
        assert len(lines) == 2, out.getvalue()
        assert lines[0].rstrip().endswith("(resumed)") and "resumed" not in lines[1]
