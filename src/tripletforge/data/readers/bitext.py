"""Readers for parallel text: LASER Tatoeba, SIB-200 (FLORES-200 sentences), NusaX-MT."""

from __future__ import annotations

from pathlib import Path

from tripletforge.data.languages import UnknownLanguageError, get_language, match_language
from tripletforge.data.readers._common import (
    DUPLICATE_ID,
    MALFORMED,
    MISALIGNED,
    BitextCollector,
    csv_records,
    find_column,
    numbered_lines,
    require_file,
    skip_at,
)
from tripletforge.data.schemas import BitextSet, ReadReport

#: NusaX-MT column name of each language (ISO 639-3).
NUSAX_COLUMNS = {
    "ace": "acehnese",
    "ban": "balinese",
    "bbc": "toba_batak",
    "bjn": "banjarese",
    "bug": "buginese",
    "eng": "english",
    "ind": "indonesian",
    "jav": "javanese",
    "mad": "madurese",
    "min": "minangkabau",
    "nij": "ngaju",
    "sun": "sundanese",
}
_SPLIT_ALIASES = {"valid": "dev", "validation": "dev"}


def _iso(code: str) -> str:
    """ISO 639-3 code of a registered language (639-1/FLORES aliases too), else ``code``."""
    try:
        return get_language(code).code
    except UnknownLanguageError:
        return code.split("_", 1)[0]


def _bitext(name: str, src: str, tgt: str, rows: BitextCollector, files: list[Path]) -> BitextSet:
    return BitextSet(
        name=name,
        source_lang=src,
        target_lang=tgt,
        source=rows.source,
        target=rows.target,
        files=[str(path) for path in files],
        report=rows.report,
    )


def _tatoeba_code(folder: Path, lang: str) -> str:
    """The code the LASER files of ``lang`` use in ``folder`` (``HAU``, ``ha`` → ``hau``)."""
    codes = {
        path.name.split(".")[1].removesuffix("-eng") for path in folder.glob("tatoeba.*-eng.*")
    }
    if lang in codes:
        return lang
    try:
        ranked = match_language(lang, sorted(codes))
    except UnknownLanguageError:
        return lang  # a LASER code outside ISO 639: looked up as given
    return ranked[0][0] if ranked and len(ranked[0]) == 1 else lang


def read_tatoeba(root: str | Path, lang: str) -> BitextSet:
    """Read LASER Tatoeba ``tatoeba.{lang}-eng.{lang}`` (source) and ``.eng`` (target).

    ``root`` is the folder holding the files (or one of the files). Lines are paired by
    number; lines past the end of the shorter file are reported as ``misaligned``.
    """
    folder = Path(root)
    if folder.is_file():
        folder = folder.parent
    if not any(folder.glob("tatoeba.*-eng.*")) and (folder / "tatoeba_laser").is_dir():
        folder = folder / "tatoeba_laser"
    lang = _tatoeba_code(folder, lang)
    stem = f"tatoeba.{lang}-eng"
    hint = f"Expected the LASER layout {stem}.{lang} + {stem}.eng in {folder}"
    src_path = require_file(folder / f"{stem}.{lang}", "Tatoeba file", hint)
    tgt_path = require_file(folder / f"{stem}.eng", "Tatoeba file", hint)
    report = ReadReport(str(src_path))
    rows = BitextCollector(report, src_path, tgt_path)
    src_lines = list(numbered_lines(src_path))
    tgt_lines = list(numbered_lines(tgt_path))
    report.rows_read = max(len(src_lines), len(tgt_lines))
    for (line, src), (_, tgt) in zip(src_lines, tgt_lines, strict=False):
        rows.add(line, src, tgt)
    counts = f"{len(src_lines)} vs {len(tgt_lines)} lines"
    for path, other, extra in (
        (src_path, tgt_path, src_lines[len(tgt_lines) :]),
        (tgt_path, src_path, tgt_lines[len(src_lines) :]),
    ):
        for line, _ in extra:
            skip_at(report, path, line, f"{MISALIGNED}: no line {line} in {other.name} ({counts})")
    return _bitext(f"tatoeba-{lang}-eng", _iso(lang), "eng", rows, [src_path, tgt_path])


def sib200_folder(root: str | Path, lang: str) -> Path:
    """The SIB-200 folder of a language: ``hau``, ``HAU``, ``ha-NG``, ``swa`` → ``.../hau_Latn``.

    ``root`` is the SIB-200 folder or its ``annotated/`` subfolder. The folder names (FLORES
    codes) are matched with :func:`tripletforge.data.languages.match_language`: the same
    spelling, then the same ISO 639-3 code, then the registered FLORES code, then any code of
    the same language (``swa`` finds ``swh_Latn``). Two folders at the best rank are
    ambiguous (``kas``: ``kas_Arab`` or ``kas_Deva``): pass the folder name.
    """
    root = Path(root)
    bases = [base for base in (root / "annotated", root) if base.is_dir()]
    if not bases:
        raise FileNotFoundError(f"SIB-200 folder not found: {root}")
    for base in bases:
        if "_" in lang and (base / lang).is_dir():
            return base / lang  # a folder name, as given
    get_language(lang)  # an unknown code is an error that lists the accepted spellings
    for base in bases:
        names = [path.name for path in base.iterdir() if path.is_dir()]
        ranked = match_language(lang, names)
        if not ranked:
            continue
        if len(ranked[0]) > 1:
            raise ValueError(
                f"language {lang!r} is ambiguous in {base}: pass one of {', '.join(ranked[0])}"
            )
        return base / ranked[0][0]
    raise FileNotFoundError(
        f"no SIB-200 folder for {lang!r} ({get_language(lang).flores} or another code of the "
        f"same language) in {', '.join(map(str, bases))}; folder names are FLORES codes like "
        "hau_Latn"
    )


def _sib_rows(path: Path, report: ReadReport) -> dict[str, tuple[int, str]]:
    """``index_id → (line, text)`` of a SIB-200 TSV; malformed and duplicate rows reported."""
    header, records = csv_records(path, report, delimiter="\t", quoted=False)
    assert header is not None
    id_col = find_column(header, ["index_id"], path)
    text_col = find_column(header, ["text"], path)
    rows: dict[str, tuple[int, str]] = {}
    for line, fields in records:
        if len(fields) != len(header):
            report.skip(line, f"{MALFORMED}: {len(fields)} fields, header has {len(header)}")
            continue
        index = fields[id_col].strip()
        if index in rows:
            report.skip(line, f"{DUPLICATE_ID}: index_id {index} first on line {rows[index][0]}")
            continue
        rows[index] = (line, fields[text_col])
    return rows


def read_flores_parallel(
    root: str | Path, source_lang: str, target_lang: str = "eng", split: str = "dev"
) -> BitextSet:
    """Read SIB-200 ``{split}.tsv`` (``index_id, category, text``) of two languages as bitext.

    Rows are paired by ``index_id``; ids found on one side only are reported as
    ``misaligned``. Languages are ISO 639-3 codes or SIB-200 folder names (``hau_Latn``).
    """
    split = _SPLIT_ALIASES.get(split, split)
    src_path = require_file(sib200_folder(root, source_lang) / f"{split}.tsv", "SIB-200 split")
    tgt_path = require_file(sib200_folder(root, target_lang) / f"{split}.tsv", "SIB-200 split")
    report = ReadReport(str(src_path))
    target_report = ReadReport(str(tgt_path))
    src_rows = _sib_rows(src_path, report)
    tgt_rows = _sib_rows(tgt_path, target_report)
    report.bad_rows.extend(target_report.bad_rows)
    report.rows_read += len(target_report.bad_rows)
    rows = BitextCollector(report, src_path, tgt_path)
    for index, (line, text) in src_rows.items():
        if index not in tgt_rows:
            report.skip(line, f"{MISALIGNED}: index_id {index} not in {tgt_path}")
            continue
        target_line, target = tgt_rows[index]
        rows.add(line, text, target, target_line=target_line)
    for index, (line, _) in tgt_rows.items():
        if index not in src_rows:
            report.rows_read += 1
            skip_at(report, tgt_path, line, f"{MISALIGNED}: index_id {index} not in {src_path}")
    src, tgt = _iso(source_lang), _iso(target_lang)
    return _bitext(f"sib200-{src}-{tgt}-{split}", src, tgt, rows, [src_path, tgt_path])


def _nusax_column(lang: str) -> str:
    if lang in NUSAX_COLUMNS.values():
        return lang
    code = lang if lang in NUSAX_COLUMNS else _iso(lang)
    if code not in NUSAX_COLUMNS:
        known = ", ".join(sorted(NUSAX_COLUMNS))
        raise ValueError(f"NusaX has no language {lang!r}; known: {known}")
    return NUSAX_COLUMNS[code]


def read_nusax(
    root: str | Path, source_lang: str, target_lang: str = "eng", split: str = "test"
) -> BitextSet:
    """Read NusaX-MT (12-way parallel CSV, one column per language) as bitext.

    ``root`` is the NusaX folder, its ``mt/`` folder or a split CSV; ``split`` is train, valid
    (alias dev) or test. Languages are ISO 639-3 codes (bbc = Toba Batak, nij = Ngaju) or the
    column names (``acehnese``).
    """
    src_col_name, tgt_col_name = _nusax_column(source_lang), _nusax_column(target_lang)
    split = {"dev": "valid", "validation": "valid"}.get(split, split)
    root = Path(root)
    path = root
    if root.is_dir():
        path = next(
            (p for p in (root / "mt" / f"{split}.csv", root / f"{split}.csv") if p.is_file()),
            root / "mt" / f"{split}.csv",
        )
    path = require_file(path, "NusaX-MT split", "Expected <nusax>/mt/{train,valid,test}.csv")
    report = ReadReport(str(path))
    header, records = csv_records(path, report)
    assert header is not None
    src_col = find_column(header, [src_col_name], path)
    tgt_col = find_column(header, [tgt_col_name], path)
    rows = BitextCollector(report)
    for line, fields in records:
        if len(fields) != len(header):
            report.skip(line, f"{MALFORMED}: {len(fields)} fields, header has {len(header)}")
            continue
        rows.add(line, fields[src_col], fields[tgt_col])
    inverse = {name: code for code, name in NUSAX_COLUMNS.items()}
    src, tgt = inverse[src_col_name], inverse[tgt_col_name]
    return _bitext(f"nusax-{src}-{tgt}-{split}", src, tgt, rows, [path])
