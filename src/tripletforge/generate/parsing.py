"""Turn raw generator output into one clean sentence, or a counted rejection.

The parser never splits on chat-template strings: backends return only the new tokens. It
strips what small models wrap around an answer (special-token leftovers, markdown, preambles
such as "Sure, here is…:", labels such as "Entailment:" or "Hypothesis (Hausa):", bullets and
quotes), keeps the first line and its first sentence, and rejects the result when it is empty,
has no letters, is a refusal, equals the anchor, or echoes a few-shot example.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Rejection(StrEnum):
    """Why an output was rejected (every rejection is counted under one of these)."""

    EMPTY = "empty"
    NO_LETTERS = "no_letters"
    REFUSAL = "refusal"
    SAME_AS_ANCHOR = "same_as_anchor"
    ECHOES_EXAMPLE = "echoes_example"
    POSITIVE_EQUALS_NEGATIVE = "positive_equals_negative"
    JOINT_MISSING_PART = "joint_missing_part"


@dataclass(frozen=True)
class Parsed:
    """A parsed output: ``text`` when accepted, else the ``reason`` it was rejected."""

    text: str | None
    reason: Rejection | None = None

    @property
    def ok(self) -> bool:
        return self.text is not None


_SPECIAL_TOKEN = re.compile(
    r"<\|[^|<>\n]{0,40}(?:\|>)?|</?s>|<(?:start|end)_of_turn>|<eos>|<bos>|<pad>|\[/?INST\]", re.I
)
_ROLE = re.compile(r"^\s*(?:assistant|model|user|system)[ \t]*(?:\n|$)", re.I)
_LABEL_WORDS = (
    r"entailment|contradiction|hypothesis|premise|positive|negative|answer|output|response|"
    r"sentence|true(?: sentence)?|false(?: sentence)?|translation|result|assistant|neutral"
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
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)|(?<=[。！？।॥።۔])")
_REFUSAL = re.compile(
    r"^(?:i'?m sorry|i am sorry|sorry,|i cannot|i can't|i can not|as an ai|i apologi[sz]e|"
    r"i'?m unable|i am unable|i don't know|unfortunately,? i)",
    re.I,
)


def normalise(text: str) -> str:
    """Comparison key: NFKC, case-folded, letters and digits only."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if ch.isalnum())


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


def first_sentence(text: str) -> str:
    """The first sentence of ``text`` (its terminal punctuation kept)."""
    parts = _SENTENCE_END.split(text.strip(), maxsplit=1)
    return parts[0].strip()


def clean_output(raw: str) -> str:
    """Everything the parser strips, without the accept/reject checks."""
    text = raw.replace("\r", "\n")
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
    text = clean_output(raw)
    if not text:
        return Parsed(None, Rejection.EMPTY)
    key = normalise(text)
    if not any(ch.isalpha() for ch in key):
        return Parsed(None, Rejection.NO_LETTERS)
    if _REFUSAL.match(text):
        return Parsed(None, Rejection.REFUSAL)
    if key == normalise(anchor):
        return Parsed(None, Rejection.SAME_AS_ANCHOR)
    if key in {normalise(t) for t in echo_texts}:
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
    positive_raw, negative_raw = split_joint(raw)
    positive = parse_sentence(positive_raw, anchor, echo)
    if negative_raw is None:
        return positive, Parsed(None, Rejection.JOINT_MISSING_PART)
    return positive, parse_sentence(negative_raw, anchor, echo)


def check_pair(positive: Parsed, negative: Parsed) -> tuple[Parsed, Parsed]:
    """Reject a negative identical to its positive."""
    if (
        positive.ok
        and negative.ok
        and normalise(positive.text or "") == normalise(negative.text or "")
    ):
        return positive, Parsed(None, Rejection.POSITIVE_EQUALS_NEGATIVE)
    return positive, negative
