"""The one text key, word tokens and sentence ends (issue 13, items 1-3), in many scripts."""

from __future__ import annotations

import unicodedata

import pytest
import regex

from tripletforge.data.text import (
    first_sentence,
    pointing_marks,
    same_text,
    text_key,
    token_edits,
    word_tokens,
)

# (script, a, b): texts that are one sentence under the key
EQUAL = [
    ("Latin", "  Ｈello,   WORLD!! ", "hello world"),
    ("Latin", "Straße", "STRASSE"),
    ("Latin NFC/NFD", "café au lait", unicodedata.normalize("NFD", "Café au lait.")),
    ("Latin", "Mahaifiya ta shirya abinci.", "mahaifiya ta shirya abinci"),
    ("Latin soft hyphen", "infor\u00admation", "information"),
    ("Devanagari", "लड़का मैदान में खेल रहा है।", "लड़का  मैदान में खेल रहा है"),
    ("Devanagari nukta", "\u095c", "\u0921\u093c"),  # precomposed vs decomposed ड़
    ("Devanagari ZWJ/ZWNJ", "क्\u200dष", "क्ष"),
    ("Gurmukhi", "ਮੁੰਡਾ ਖੇਡ ਰਿਹਾ ਹੈ।", "ਮੁੰਡਾ ਖੇਡ ਰਿਹਾ ਹੈ"),
    ("Telugu", "అబ్బాయి ఆడుతున్నాడు.", "అబ్బాయి   ఆడుతున్నాడు"),
    ("Bengali", "ছেলেটি মাঠে খেলছে।", "ছেলেটি মাঠে খেলছে"),
    ("Arabic harakat", "ذَهَبَ الوَلَدُ إلى المَدْرَسَةِ صَباحاً.", "ذهب الولد إلى المدرسة صباحا."),
    ("Arabic tatweel", "ذهـــب الولـد", "ذهب الولد"),
    ("Arabic dagger alef", "هٰذا كتاب", "هذا كتاب"),
    ("Arabic shadda", "مدرّسة", "مدرسة"),
    ("Arabic presentation forms", "\ufefb \ufe8d\ufee0\ufea4\ufeea", "لا الحه"),
    ("Persian ZWNJ", "می\u200cخواهم", "میخواهم"),
    ("Hebrew niqqud", "שָׁלוֹם עוֹלָם", "שלום עולם"),
    ("Syriac vowels", "ܫܠܵܡܵܐ", "ܫܠܡܐ"),
    ("Ethiopic", "ልጁ ወደ ትምህርት ቤት ሄደ።", "ልጁ ወደ ትምህርት ቤት ሄደ"),
    ("Thai", "เด็กกำลังเล่น ฟุตบอล", "เด็กกำลังเล่นฟุตบอล"),  # spaces are not word breaks
    ("Han", "他去学校。", "他 去 学校"),
    ("Greek", "ΟΔΟΣ", "οδος"),
]

# (script, a, b): texts that differ in a letter, a vowel sign, a tone or an accent
DIFFERENT = [
    ("Devanagari vowel sign", "लड़का मैदान में खेल रहा है।", "लड़की मैदान में खेल रही है।"),
    ("Devanagari", "वह रोज़ किताब पढ़ता है।", "वह कभी किताब नहीं पढ़ता है।"),
    ("Devanagari nukta", "रोज़", "रोज"),
    ("Devanagari virama", "क्ष", "कष"),
    ("Gurmukhi vowel sign", "ਮੁੰਡਾ ਖੇਡ ਰਿਹਾ ਹੈ", "ਮੁੰਡੀ ਖੇਡ ਰਿਹਾ ਹੈ"),
    ("Gurmukhi", "ਕੁੜੀ", "ਕੁੜਾ"),
    ("Telugu vowel sign", "అబ్బాయి ఆడుతున్నాడు", "అమ్మాయి ఆడుతున్నది"),
    ("Telugu", "కాలు", "కలు"),
    ("Bengali vowel sign", "ছেলে", "ছেলা"),
    ("Tamil", "பால்", "பல்"),
    ("Ethiopic vowel form", "ልጁ ሄደ", "ልጂ ሄደ"),
    ("Thai tone mark", "ไก่", "ไก"),
    ("Thai vowel", "ครับ", "คับ"),
    ("Myanmar", "ကလေး", "ကလ"),
    ("Khmer", "កូន", "កន"),
    ("Latin accent", "résumé", "resume"),
    ("Vietnamese tone", "ma", "má"),
    ("Yoruba tone", "ọkọ", "ọkọ́"),
    ("Arabic hamza", "أمل", "امل"),
    ("Arabic letters", "ذهب الولد", "ذهبت البنت"),
    ("Thaana fili", "ދިވެހި", "ދވހ"),
    ("Hebrew letters", "שלום", "שלם"),
    ("Han negation", "他去学校", "他不去学校"),
    ("Digits", "3 kids", "4 kids"),
]


@pytest.mark.parametrize(("script", "a", "b"), EQUAL, ids=[e[0] for e in EQUAL])
def test_key_equal(script: str, a: str, b: str) -> None:
    assert text_key(a) == text_key(b), script
    assert same_text(a, b)


@pytest.mark.parametrize(("script", "a", "b"), DIFFERENT, ids=[d[0] for d in DIFFERENT])
def test_key_different(script: str, a: str, b: str) -> None:
    assert text_key(a) != text_key(b), script


def test_key_keeps_every_mark_of_an_abugida() -> None:
    """No visible Brahmic, Thai, Lao, Khmer, Myanmar, Ethiopic mark is dropped by the key."""
    scripts = ("Devanagari", "Gurmukhi", "Telugu", "Bengali", "Tamil", "Thai", "Lao", "Khmer",
               "Myanmar", "Ethiopic", "Sinhala", "Kannada", "Malayalam", "Gujarati")  # fmt: skip
    union = "".join(rf"\p{{Script={s}}}" for s in scripts)
    marks = regex.compile(rf"[[{union}]&&\p{{M}}&&\P{{Default_Ignorable_Code_Point}}]", regex.V1)
    checked = 0
    for cp in range(0x0900, 0x1800):  # the blocks of those scripts
        ch = chr(cp)
        if marks.match(ch):
            checked += 1
            assert text_key("\u0915" + ch) != text_key("\u0915"), f"U+{cp:04X}"
    assert checked > 300


def test_pointing_marks_are_abjad_vowel_pointing() -> None:
    marks = pointing_marks()
    abjad = regex.compile(r"[\p{scx=Arabic}\p{scx=Hebrew}\p{scx=Syriac}]", regex.V1)
    other = sorted(f"U+{ord(m):04X}" for m in marks if not abjad.match(m))
    # the documented residue: Greek ypogegrammeni (case-folded to ι first, so never dropped),
    # Hanifi Rohingya tone signs and one Garay sign that the same properties select
    assert other == ["U+0345", "U+10D24", "U+10D25", "U+10D26", "U+10D27", "U+10D69"]
    assert {"\u064e", "\u0651", "\u0670", "\u05b8", "\u0733"} <= set(marks)
    assert not {"\u093e", "\u094d", "\u093c", "\u0e48", "\u0301", "\u07a6"} & set(marks)
    assert text_key("\u1fb3") == text_key("αι")  # ᾳ: ypogegrammeni folds to ι, not dropped


def test_key_is_a_fixed_point_and_empty_without_words() -> None:
    for _, a, b in EQUAL + DIFFERENT:
        for text in (a, b):
            assert text_key(text_key(text)) == text_key(text)
    assert text_key(" ...!! ** \u0640 ") == ""


def test_word_tokens_in_scripts_with_and_without_spaces() -> None:
    assert word_tokens("The cat, sat!") == ["the", "cat", "sat"]
    assert word_tokens("लड़का खेल रहा है।") == ["लड़का", "खेल", "रहा", "है"]
    assert word_tokens("他不去学校。") == ["他", "不", "去", "学", "校"]
    assert "ม่" in word_tokens("เขาไม่ไปโรงเรียน")  # a grapheme cluster keeps its tone mark
    assert token_edits(word_tokens("他去学校"), word_tokens("他不去学校")) == 1
    assert token_edits(["a", "b", "c"], ["a", "x", "c", "d"]) == 2
    assert token_edits(["a"] * 10, ["b"] * 10, limit=3) == 4


@pytest.mark.parametrize(
    ("reply", "first"),
    [
        ("هل ذهب الطفل إلى المدرسة؟ نعم، ذهب إليها صباحاً.", "هل ذهب الطفل إلى المدرسة؟"),
        ("لڑکا اسکول گیا۔ وہ خوش ہے۔", "لڑکا اسکول گیا۔"),
        ("लड़का खेल रहा है। वह खुश है।", "लड़का खेल रहा है।"),
        ("ልጁ ወደ ትምህርት ቤት ሄደ። ደስተኛ ነው።", "ልጁ ወደ ትምህርት ቤት ሄደ።"),
        ("Երեխան գնաց դպրոց։ Նա ուրախ է։", "Երեխան գնաց դպրոց։"),
        ("孩子们在外面踢足球。他们很开心。", "孩子们在外面踢足球。"),
        ("子供たちは外で遊んでいます！とても楽しい。", "子供たちは外で遊んでいます！"),
        ("ကလေး ကျောင်းသွားသည်။ ပျော်သည်။", "ကလေး ကျောင်းသွားသည်။"),
        ("កូនទៅសាលា។ គាត់សប្បាយ។", "កូនទៅសាលា។"),
        ("เด็กๆ กำลังเล่นฟุตบอล ข้างนอก", "เด็กๆ กำลังเล่นฟุตบอล ข้างนอก"),  # no terminal: kept
        ("Kids play outside. They laugh.", "Kids play outside."),
        ("Is it raining? No.", "Is it raining?"),
        ("The bag costs 3.50 dollars. Cheap.", "The bag costs 3.50 dollars."),
        ("He has 2 cats, e.g. the grey one. Yes.", "He has 2 cats, e.g. the grey one."),
        ("J. K. Rowling wrote it. Yes.", "J. K. Rowling wrote it."),
        ('He said "Stop!" Then he left.', 'He said "Stop!"'),
        ("Watoto wanacheza nje.", "Watoto wanacheza nje."),
    ],
)
def test_first_sentence_from_unicode_terminals(reply: str, first: str) -> None:
    assert first_sentence(reply) == first
