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


# --- issue 13: scripts, sentence ends, reasoning, markup ----------------------------------------


def test_hindi_contradiction_by_vowel_sign_is_accepted() -> None:
    anchor = "लड़का मैदान में खेल रहा है।"
    parsed = parse_sentence("लड़की मैदान में खेल रही है।", anchor)
    assert parsed.ok and parsed.text == "लड़की मैदान में खेल रही है।"
    assert parse_sentence("लड़का  मैदान में खेल रहा है", anchor).reason == Rejection.SAME_AS_ANCHOR
    pos, neg = check_pair(
        parse_sentence("लड़का मैदान में है।", anchor), parse_sentence("लड़की मैदान में है।", anchor)
    )
    assert pos.ok and neg.ok  # a vowel sign apart: not "positive equals negative"


def test_vowelled_arabic_copy_is_the_anchor() -> None:
    anchor = "ذهب الولد إلى المدرسة صباحا."
    vowelled = "ذَهَبَ الوَلَدُ إلى المَدْرَسَةِ صَباحاً."
    assert parse_sentence(vowelled, anchor).reason == Rejection.SAME_AS_ANCHOR
    assert parse_sentence("ذهـــب الولد إلى المدرسة صباحا", anchor).reason == (
        Rejection.SAME_AS_ANCHOR
    )  # tatweel
    assert parse_sentence(vowelled, "x", [anchor]).reason == Rejection.ECHOES_EXAMPLE


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("هل ذهب الطفل إلى المدرسة؟ نعم، ذهب إليها صباحاً.", "هل ذهب الطفل إلى المدرسة؟"),
        ("لڑکا اسکول گیا۔ وہ خوش ہے۔", "لڑکا اسکول گیا۔"),
        ("Entailment: लड़का खेल रहा है। वह खुश है।", "लड़का खेल रहा है।"),
        ("ልጁ ወደ ትምህርት ቤት ሄደ። ደስተኛ ነው።", "ልጁ ወደ ትምህርት ቤት ሄደ።"),
        ("Երեխան գնաց դպրոց։ Նա ուրախ է։", "Երեխան գնաց դպրոց։"),
        ("ကလေး ကျောင်းသွားသည်။ ပျော်သည်။", "ကလေး ကျောင်းသွားသည်။"),
        ("เด็กๆ กำลังเล่นฟุตบอล ข้างนอก\nอีกบรรทัด", "เด็กๆ กำลังเล่นฟุตบอล ข้างนอก"),
        ("The bag costs 3.50 dollars. It is cheap.", "The bag costs 3.50 dollars."),
    ],
)
def test_first_sentence_in_every_script(raw: str, expected: str) -> None:
    parsed = parse_sentence(raw, ANCHOR)
    assert parsed.ok and parsed.text == expected


@pytest.mark.parametrize(
    "raw",
    [
        "<think>\nThe premise mentions children.\n</think>\n\nKids are outside.",
        "<THINK>plan</THINK>Kids are outside.",
        "<thinking>\nLet me see.\n</thinking>\nEntailment: Kids are outside.",
        "Okay, the premise is about children.\n</think>\n\nKids are outside.",  # R1 template
        "<|begin_of_thought|>hmm<|end_of_thought|>\nKids are outside.",
        "<think></think>\n\nKids are outside.",  # enable_thinking=False: an empty block
    ],
)
def test_reasoning_block_is_removed(raw: str) -> None:
    parsed = parse_sentence(raw, ANCHOR)
    assert parsed.ok and parsed.text == "Kids are outside."


@pytest.mark.parametrize(
    "raw",
    ["<think>\nThe premise mentions children and", "<think", "  <think>", "<|im_start|><think>x"],
)
def test_cut_off_reasoning_is_its_own_rejection(raw: str) -> None:
    assert parse_sentence(raw, ANCHOR).reason == Rejection.REASONING_UNFINISHED
    pos, neg = parse_joint(raw, ANCHOR)
    assert pos.reason == neg.reason == Rejection.REASONING_UNFINISHED


@pytest.mark.parametrize(
    "raw",
    ["Kids are <b>outside</b>.", "Kids play <br/> outside.", "Kids &amp; dogs play.",
     "Kids play <span class='x'>outside", "Kids play <!-- x --> outside.", "Kids play <i"],
)  # fmt: skip
def test_markup_is_never_accepted(raw: str) -> None:
    parsed = parse_sentence(raw, ANCHOR)
    assert not parsed.ok and parsed.reason in (Rejection.MARKUP, Rejection.REASONING_UNFINISHED)
    assert parse_sentence("Kids play, 3 < 4.", ANCHOR).ok  # a lone "<" is not markup


def test_joint_reasoning_is_removed_before_splitting() -> None:
    raw = (
        "<think>Contradiction: is it?</think>\nEntailment: Kids play.\nContradiction: Nobody plays."
    )
    pos, neg = parse_joint(raw, ANCHOR)
    assert (pos.text, neg.text) == ("Kids play.", "Nobody plays.")


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
    "<think>",
    "</think>",
    "<think",
    "<b>",
    "&amp;",
    "لڑکا اسکول گیا۔",
    "लड़की खेल रही है।",
    "\x00",
]
malformed = st.lists(
    st.one_of(st.sampled_from(_PIECES), st.text(max_size=30)), min_size=0, max_size=8
).map(" ".join)


@settings(
    max_examples=1200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(raw=malformed)
def test_parser_property_never_crashes_and_classifies(raw: str) -> None:
    parsed = parse_sentence(raw, ANCHOR, [SHOT])
    assert parsed.ok != (parsed.reason is not None)
    if parsed.ok:
        text = parsed.text or ""
        assert text == text.strip() and "\n" not in text and text
        assert any(ch.isalpha() for ch in text)
        assert "<|" not in text and "<end_of_turn>" not in text
        assert "<think" not in text.lower() and "</s>" not in text
        assert parse_sentence(text, text).reason == Rejection.SAME_AS_ANCHOR
        assert clean_output(text) == text  # parsing is idempotent
    else:
        assert parsed.reason in set(Rejection)
    pos, neg = parse_joint(raw, ANCHOR, [SHOT])
    for part in (pos, neg):
        assert part.ok != (part.reason is not None)
    assert isinstance(clean_output(raw), str)
