"""Turn raw generator output into one clean sentence, or a counted rejection.

The parser never splits on chat-template strings: backends return only the new tokens. It
first removes a reasoning block (``<think>…</think>`` and its variants, or everything up to a
closing tag whose opening tag was in the prompt, as DeepSeek-R1 templates do); a reasoning
block that never closes (cut off by the token limit) is rejected as ``reasoning_unfinished``.
It then strips what small models wrap around an answer (special-token leftovers, markdown,
preambles such as "Sure, here is…:", labels such as "Entailment:" or "Hypothesis (Hausa):",
bullets and quotes), keeps the first line and its first sentence
(:func:`tripletforge.data.text.first_sentence`: Unicode ``Sentence_Terminal`` data), and
rejects the result when it is empty, has no letters, is a refusal, still holds markup (a tag,
a special token, an HTML entity), equals the anchor, or echoes a few-shot example. Texts are
compared by :func:`tripletforge.data.text.text_key`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from tripletforge.data.text import first_sentence, text_key


class Rejection(StrEnum):
    """Why an output was rejected (every rejection is counted under one of these).

    These are the reasons of every task; a task adds its own in its module
    (:mod:`tripletforge.generate.tasks`, e.g. ``query_too_long``), counted the same way.
    """

    EMPTY = "empty"
    NO_LETTERS = "no_letters"
    REFUSAL = "refusal"
    SAME_AS_ANCHOR = "same_as_anchor"
    ECHOES_EXAMPLE = "echoes_example"
    POSITIVE_EQUALS_NEGATIVE = "positive_equals_negative"
    JOINT_MISSING_PART = "joint_missing_part"
    REASONING_UNFINISHED = "reasoning_unfinished"
    MARKUP = "markup"


@dataclass(frozen=True)
class Parsed:
    """A parsed output: ``text`` when accepted, else the ``reason`` it was rejected."""

    text: str | None
    reason: StrEnum | None = None  # a Rejection, or a task's own reason

    @property
    def ok(self) -> bool:
        return self.text is not None


_SPECIAL_TOKEN = re.compile(
    r"<\|[^|<>\n]{0,40}(?:\|>)?|</?s>|<(?:start|end)_of_turn>|<eos>|<bos>|<pad>|\[/?INST\]", re.I
)
_ROLE = re.compile(r"^\s*(?:assistant|model|user|system)[ \t]*(?:\n|$)", re.I)
_LABEL_WORDS = (
    r"entailment|contradiction|hypothesis|premise|positive|negative|answer|output|response|"
    r"sentence|true(?: sentence)?|false(?: sentence)?|translation|result|assistant|neutral|"
    r"paraphrase|(?:search )?query|question|related(?: sentence)?"
)
_LABEL = re.compile(
    rf"^\s*(?:[*_#>\s]*)(?:{_LABEL_WORDS})(?:\s+\d+)?\s*(?:\([^()\n]{{0,40}}\))?\s*[*_]*\s*[:：\-–—]\s*",
    re.I,
)
_PREAMBLE_HEAD = re.compile(
    r"^\s*(?:sure|certainly|of course|okay|ok|absolutely|great|here(?:'s| is| are)?|below)\b", re.I
)
_PREAMBLE_TOPIC = re.compile(
    r"\b(?:sentences?|examples?|entailments?|contradictions?|hypothes[ie]s|answers?|"
    r"translations?|responses?|outputs?)\b",
    re.I,
)
_PREAMBLE_COLON = re.compile(r"^[^:\n]{0,160}:\s*")
_INTERJECTION = re.compile(
    r"^\s*(?:sure|certainly|of course|okay|ok|absolutely|great)\s*[!,.]\s*", re.I
)
_BULLET = re.compile(r"^\s*(?:[-*•·]+|\d{1,2}[.)])\s+")
_QUOTES = {
    '"': '"',
    "'": "'",
    "“": "”",
    "”": "”",
    "‘": "’",
    "«": "»",
    "»": "«",
    "„": "“",
    "`": "`",
    "「": "」",
    "『": "』",
}
_REASONING_NAMES = r"think|thinking|thought|thoughts|reasoning|reflection|scratchpad"
#: the opening of a reasoning block (a tag cut off by the token limit too: ``<think``)
_REASONING_OPEN = re.compile(
    rf"<\s*(?:{_REASONING_NAMES})\b(?:[^<>]*>)?|<\|(?:begin|start)_of_(?:thought|reasoning)\|>"
    r"|◁think▷",
    re.I,
)
_REASONING_CLOSE = re.compile(
    rf"<\s*/\s*(?:{_REASONING_NAMES})\s*>|<\|end_of_(?:thought|reasoning)\|>|◁/think▷", re.I
)
#: markup no accepted text may hold: the start of a tag, comment or special token (``<b``,
#: ``</``, ``<!``, ``<?``, ``<|``), ``[INST]``, an HTML entity
_MARKUP = re.compile(
    r"<[A-Za-z/!?|]|\[/?INST\]|&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});"
)
_REFUSAL = re.compile(
    r"^(?:i'?m sorry|i am sorry|sorry,|i cannot|i can't|i can not|as an ai|i apologi[sz]e|"
    r"i'?m unable|i am unable|i don't know|unfortunately,? i)",
    re.I,
)


def split_reasoning(raw: str) -> tuple[str, bool]:
    """``(answer, unfinished)``: the raw output without its reasoning block.

    Everything up to the last closing reasoning tag is reasoning (its opening tag may have been
    part of the prompt). With no closing tag, an opening tag with nothing but whitespace or
    template leftovers before it starts a block that never ended: ``("", True)``; text before
    a later opening tag is kept as the answer.
    """
    closes = list(_REASONING_CLOSE.finditer(raw))
    if closes:
        return raw[closes[-1].end() :], False
    opening = _REASONING_OPEN.search(raw)
    if opening is None:
        return raw, False
    before = raw[: opening.start()]
    if any(ch.isalnum() for ch in _SPECIAL_TOKEN.sub("", before)):
        return before, False
    return "", True


def has_markup(text: str) -> bool:
    """Whether a text holds a tag, a special token, ``[INST]`` or an HTML entity."""
    return _MARKUP.search(text) is not None


def _strip_quotes(text: str) -> str:
    text = text.strip()
    for _ in range(3):
        if len(text) >= 2 and text[0] in _QUOTES and text[-1] == _QUOTES[text[0]]:
            text = text[1:-1].strip()
        elif text[:1] in _QUOTES and _QUOTES[text[0]] not in text[1:]:
            text = text[1:].strip()  # an opening quote cut off by the stop or token limit
        else:
            break
    # a closing quote left after the first sentence was kept: "He sleeps." → He sleeps.
    return text.strip('"“”«»„`').strip() if text.count('"') == 1 else text


def _strip_prefixes(line: str) -> str:
    """Remove bullets, markdown emphasis, interjections, preambles and labels (repeatedly)."""
    for _ in range(6):
        before = line
        line = _BULLET.sub("", line)
        line = line.strip().strip("*_#>").strip()
        line = _INTERJECTION.sub("", line)
        if _PREAMBLE_HEAD.match(line):
            if ":" in line:
                line = _PREAMBLE_COLON.sub("", line, count=1)
            elif _PREAMBLE_TOPIC.search(line):
                line = ""  # "Sure! Here is a sentence in Hausa" with the answer below
        line = _LABEL.sub("", line, count=1)
        if line == before:
            break
    return line


def clean_output(raw: str) -> str:
    """Everything the parser strips, without the accept/reject checks."""
    text = split_reasoning(raw)[0].replace("\r", "\n")
    match = _SPECIAL_TOKEN.search(text.lstrip())
    text = text.lstrip()
    while match is not None and match.start() == 0:  # leading template leftovers
        text = _ROLE.sub("", text[match.end() :], count=1).lstrip()
        match = _SPECIAL_TOKEN.search(text)
    if match is not None:  # the model went on into a new turn: keep what came before
        text = text[: match.start()]
    text = text.replace("```", "\n")
    fallback = ""
    for line in text.split("\n"):
        line = _strip_quotes(line)
        if _PREAMBLE_HEAD.match(line) and line.rstrip().endswith(":"):
            continue  # "Sure, here is the sentence:" on its own line
        for _ in range(8):  # to a fixed point, so that parsing a parsed output changes nothing
            before = line
            line = " ".join(_strip_quotes(_strip_prefixes(line)).split())
            if any(ch.isalnum() for ch in line):
                line = first_sentence(line)
            if line == before:
                break
        if any(ch.isalnum() for ch in line):
            return line
        fallback = fallback or line  # only symbols: rejected as no_letters
    return fallback


def parse_sentence(raw: str, anchor: str, echo_texts: Iterable[str] = ()) -> Parsed:
    """Parse one pass's raw output into a sentence, or reject it with a reason."""
    if split_reasoning(raw)[1]:
        return Parsed(None, Rejection.REASONING_UNFINISHED)
    text = clean_output(raw)
    if not text:
        return Parsed(None, Rejection.EMPTY)
    key = text_key(text)
    if not any(ch.isalpha() for ch in key):
        return Parsed(None, Rejection.NO_LETTERS)
    if _REFUSAL.match(text):
        return Parsed(None, Rejection.REFUSAL)
    if has_markup(text):
        return Parsed(None, Rejection.MARKUP)
    if key == text_key(anchor):
        return Parsed(None, Rejection.SAME_AS_ANCHOR)
    if key in {text_key(t) for t in echo_texts}:
        return Parsed(None, Rejection.ECHOES_EXAMPLE)
    return Parsed(text)


_JOINT_NEGATIVE = re.compile(
    r"(?im)^[\s*_#>\-•]*(?:contradiction|negative|false(?: sentence)?)\b[^:\n]{0,40}[:：]"
)
_JOINT_SAME_LINE = re.compile(r"(?i)\s(?:contradiction|negative)\s*(?:\([^()\n]{0,40}\))?\s*[:：]")


def split_joint(raw: str) -> tuple[str, str | None]:
    """Split a joint (entailment + contradiction) output into its two raw parts."""
    match = _JOINT_NEGATIVE.search(raw) or _JOINT_SAME_LINE.search(raw)
    if match is None:
        return raw, None
    return raw[: match.start()], raw[match.start() :]


def parse_joint(raw: str, anchor: str, echo_texts: Iterable[str] = ()) -> tuple[Parsed, Parsed]:
    """Parse a joint output into (positive, negative)."""
    echo = list(echo_texts)
    answer, unfinished = split_reasoning(raw)
    if unfinished:
        return (Parsed(None, Rejection.REASONING_UNFINISHED),) * 2  # type: ignore[return-value]
    positive_raw, negative_raw = split_joint(answer)
    positive = parse_sentence(positive_raw, anchor, echo)
    if negative_raw is None:
        return positive, Parsed(None, Rejection.JOINT_MISSING_PART)
    return positive, parse_sentence(negative_raw, anchor, echo)


def check_pair(positive: Parsed, negative: Parsed) -> tuple[Parsed, Parsed]:
    """Reject a negative identical to its positive."""
    if (
        positive.ok
        and negative.ok
        and text_key(positive.text or "") == text_key(negative.text or "")
    ):
        return positive, Parsed(None, Rejection.POSITIVE_EQUALS_NEGATIVE)
    return positive, negative
