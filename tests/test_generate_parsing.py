"""The output parser: what it strips, what it rejects, and that it never crashes."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tripletforge.generate.parsing import (
    Rejection,
    check_pair,
    clean_output,
    parse_joint,
    parse_sentence,
)

ANCHOR = "Two children are playing football outside."
SHOT = "A man plays the guitar on stage."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('Sure, here is the sentence:\n"Kids are outdoors."', "Kids are outdoors."),
        ("Sure! Here is a sentence in Hausa\nYara suna wasa a waje.", "Yara suna wasa a waje."),
        ("Entailment: Kids are outdoors. They laugh a lot.", "Kids are outdoors."),
        (
            "  Hypothesis (Hausa): Yara suna wasa.<|im_end|>\n<|im_start|>user\nPremise",
            "Yara suna wasa.",
        ),
        ("<start_of_turn>model\nKids play.<end_of_turn>", "Kids play."),
        ("**Answer:** “Kids are outdoors.”", "Kids are outdoors."),
        ("- 1. Kids are outdoors.", "Kids are outdoors."),
        ('"Nobody is outside.', "Nobody is outside."),
        (" Contradiction (English): Nobody is outside.\n", "Nobody is outside."),
        ("Here is a boy kicking a ball.", "Here is a boy kicking a ball."),
        ("孩子们在外面踢足球。他们很开心。", "孩子们在外面踢足球。"),
    ],
)
def test_strips_wrappers_and_keeps_first_sentence(raw: str, expected: str) -> None:
    parsed = parse_sentence(raw, ANCHOR, [SHOT])
    assert parsed.ok and parsed.text == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", Rejection.EMPTY),
        ("   \n\n", Rejection.EMPTY),
        ("<|im_end|>", Rejection.EMPTY),
        ("Sure, here is the sentence:", Rejection.EMPTY),
        ("... !!! 123", Rejection.NO_LETTERS),
        ("I'm sorry, I cannot help with that.", Rejection.REFUSAL),
        ("two children are playing football outside", Rejection.SAME_AS_ANCHOR),
        ("Premise: Two children are playing football outside.", Rejection.SAME_AS_ANCHOR),
        ('"A man plays the guitar on stage."', Rejection.ECHOES_EXAMPLE),
    ],
)
def test_rejections_have_reasons(raw: str, reason: Rejection) -> None:
    parsed = parse_sentence(raw, ANCHOR, [SHOT])
    assert not parsed.ok and parsed.reason == reason


def test_joint_output_split_on_labels_not_template() -> None:
    pos, neg = parse_joint("Kids are outside.\nContradiction (English): Nobody plays.", ANCHOR)
    assert (pos.text, neg.text) == ("Kids are outside.", "Nobody plays.")
    pos, neg = parse_joint("Entailment: Kids are outside. Contradiction: Nobody plays.", ANCHOR)
    assert (pos.text, neg.text) == ("Kids are outside.", "Nobody plays.")
    pos, neg = parse_joint("Kids are outside.", ANCHOR)
    assert pos.ok and neg.reason == Rejection.JOINT_MISSING_PART


def test_positive_equal_to_negative_is_rejected() -> None:
    pos, neg = check_pair(parse_sentence("Kids play.", ANCHOR), parse_sentence("kids play", ANCHOR))
    assert pos.ok and neg.reason == Rejection.POSITIVE_EQUALS_NEGATIVE


# --- property test: ≥1000 malformed outputs, no crash, every case classified ---------------

_PIECES = [
    "Sure, here is the sentence:",
    "Sure!",
    "Certainly. Here's an entailment:",
    "Entailment:",
    "Contradiction (Hausa):",
    "Hypothesis:",
    "**Answer:**",
    "<|im_start|>assistant",
    "<|im_end|>",
    "<end_of_turn>",
    "</s>",
    "```",
    '"',
    "“",
    "»",
    "- ",
    "1. ",
    "\n",
    "\n\n",
    "...",
    ANCHOR,
    SHOT,
    "I'm sorry,",
    "Kids are outdoors.",
    "Yara suna wasa.",
    "ድመቷ ተቀምጣለች።",
    "\udc80",
    "\x00",
]
malformed = st.lists(
    st.one_of(st.sampled_from(_PIECES), st.text(max_size=30)), min_size=0, max_size=8
).map(" ".join)


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=malformed)
def test_parser_property_never_crashes_and_classifies(raw: str) -> None:
    parsed = parse_sentence(raw, ANCHOR, [SHOT])
    assert parsed.ok != (parsed.reason is not None)
    if parsed.ok:
        text = parsed.text or ""
        assert text == text.strip() and "\n" not in text and text
        assert any(ch.isalpha() for ch in text)
        assert "<|" not in text and "<end_of_turn>" not in text
        assert parse_sentence(text, text).reason == Rejection.SAME_AS_ANCHOR
        assert clean_output(text) == text  # parsing is idempotent
    else:
        assert parsed.reason in set(Rejection)
    pos, neg = parse_joint(raw, ANCHOR, [SHOT])
    for part in (pos, neg):
        assert part.ok != (part.reason is not None)
    assert isinstance(clean_output(raw), str)
