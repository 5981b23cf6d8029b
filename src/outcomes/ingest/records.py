"""Read visit records from a CSV file, a Parquet file or a DataFrame, without judging them.

:func:`read_records` turns the bytes of a file into a :class:`RawTable`: every
cell exactly as written (CSV: all strings; Parquet: its native types), the row
number of each record in the file, and the file's SHA-256.  Content rules are
:mod:`outcomes.ingest.rules`'s job; this module only refuses what cannot be read
as a table, each refusal an :class:`~outcomes.errors.OutcomesError` naming a
rule:

``file_exists``, ``not_a_directory``, ``file_readable``, ``regular_file``,
``limit_max_file_bytes``, ``file_not_empty``, ``excel_file``, ``parquet_readable``,
``parquet_nested_column``, ``parquet_column_type``, ``limit_max_uncompressed_bytes``,
``binary_file``, ``encoding_utf8``, ``line_too_long``, ``delimiter_comma``,
``limit_max_columns``, ``limit_max_rows``, ``csv_parsable``, ``unique_columns``.

Bounded work (limits of :mod:`outcomes.safety.limits`, each raised with an ``OUTCOMES_<NAME>``
variable): the file is read through :func:`outcomes.safety.files.read_input_bytes` (regular files
only: a FIFO, ``/dev/zero`` or a socket is refused before a byte is read; at most
``max_file_bytes``). A Parquet file's footer is checked before any column is decoded: at
most ``max_rows`` rows, ``max_columns`` columns and ``max_uncompressed_bytes`` of decoded
data, and no nested (list, struct, map, union) or binary column. A CSV header with more than
``max_columns`` names is refused before the rows are parsed, at most ``max_rows + 1``
records are ever parsed, and no line may exceed ``max_line_bytes``. A wide table counts its
melted measurements against ``max_rows``. Every step over columns is linear in their number.

Format is detected from the content (Parquet files start with ``PAR1``), not
from the extension.  CSV must be UTF-8 (a byte-order mark is tolerated) and
comma-separated.  Row numbers: the CSV header is row 1 and the first data row
is row 2 (a record counts as one row even if a quoted cell holds a line break).
Parquet files and DataFrames have no header line; their rows are numbered the
same way (position + 2) so that messages read alike.

Tidying, recorded in :attr:`RawTable.notes` (never silent): fully blank rows
(e.g. Excel's trailing empty rows) are dropped as ``blank_row``; columns with
no name and no content are dropped as ``blank_column``.  A *wide* table (no
``measure``/``value`` columns, one column per registered measure code) is
melted to the long form, one row per non-empty measure cell, each keeping the
row number of the visit row it came from; a ``side`` column applies to the sided
measures of its row only (unsided ones get an empty side); a wide row with no
measurement at all is noted as ``value_missing``.  The input file is only read, never modified.

Examples
--------
>>> import pandas as pd
>>> raw = read_records(pd.DataFrame({"patient_id": ["p1"], "visit_day": ["0"],
...                                  "pain_nprs": ["6"], "rom_cervical_flexion": [""]}))
>>> raw.fmt, raw.source, raw.frame[["measure", "value"]].values.tolist(), raw.rows.tolist()
('frame', '<DataFrame>', [['pain_nprs', '6']], [2])
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from outcomes.errors import OutcomesError, Problem
from outcomes.ingest.coded import Factorized, int_type
from outcomes.safety.files import read_input_bytes
from outcomes.safety.limits import current_limits, limit_problem
from outcomes.spec.contract import ALL_COLUMNS
from outcomes.spec.measures import REGISTRY, Measure

__all__ = [
    "NOTE_COLUMNS",
    "READ_RULES",
    "RawTable",
    "check_parquet_metadata",
    "column_notes",
    "notes_frame",
    "read_records",
    "tidy_records",
]

#: Rules of refusals raised while reading (before the contract is checked), in the order of
#: ``docs/data-contract.md``.
READ_RULES: tuple[str, ...] = (
    "file_exists",
    "not_a_directory",
    "file_readable",
    "regular_file",
    "limit_max_file_bytes",
    "file_not_empty",
    "excel_file",
    "parquet_readable",
    "parquet_nested_column",
    "parquet_column_type",
    "limit_max_uncompressed_bytes",
    "binary_file",
    "encoding_utf8",
    "line_too_long",
    "delimiter_comma",
    "limit_max_columns",
    "limit_max_rows",
    "csv_parsable",
    "unique_columns",
)

#: Columns of :attr:`RawTable.notes` and of ``LoadedVisits.exclusions``.
NOTE_COLUMNS = ("row", "column", "rule", "reason")

_FRAME_SOURCE = "<DataFrame>"
_TALL_LINES = 10_000  # from this many lines every CSV column is read as a categorical (see _parse_csv)
_SNIFF_BYTES = 65_536


def notes_frame(rows: npt.ArrayLike = (), column: str = "", rule: str = "", reason: str = "") -> pd.DataFrame:
    """A frame of exclusion notes (columns :data:`NOTE_COLUMNS`), one per row number.

    Examples
    --------
    >>> notes_frame([5, 7], "value", "value_missing", "empty value cell").values.tolist()
    [[5, 'value', 'value_missing', 'empty value cell'], [7, 'value', 'value_missing', 'empty value cell']]
    >>> notes_frame().shape
    (0, 4)
    """
    row_numbers = np.asarray(rows, dtype=np.int64)
    n = len(row_numbers)
    return pd.DataFrame(
        {
            "row": row_numbers,
            "column": pd.Series([column] * n, dtype="str"),
            "rule": pd.Series([rule] * n, dtype="str"),
            "reason": pd.Series([reason] * n, dtype="str"),
        }
    )


def column_notes(columns: Collection[str], rule: str, reason: str) -> pd.DataFrame:
    """One note per column (header row 1), built at once: a file of many columns costs one frame.

    Examples
    --------
    >>> column_notes(["notes", "x"], "unknown_column", "ignored").values.tolist()
    [[1, 'notes', 'unknown_column', 'ignored'], [1, 'x', 'unknown_column', 'ignored']]
    """
    frame = notes_frame(np.ones(len(columns), dtype=np.int64), "", rule, reason)
    return frame.assign(column=pd.Series(list(columns), dtype="str"))


@dataclass(frozen=True)
class RawTable:
    """A table as read from the file, before any contract rule is applied.

    Attributes
    ----------
    frame : DataFrame
        One row per record (long form); CSV cells are strings exactly as in the
        file (not stripped), Parquet and DataFrame cells keep their types.
        Column names are stripped of surrounding white space.
    rows : ndarray of int64
        Row number in the file of each frame row (CSV header = row 1).
    source : str
        The file name as given, or ``"<DataFrame>"``.
    sha256 : str
        SHA-256 of the file's bytes (of the frame's contents for a DataFrame).
    fmt : {"csv", "parquet", "frame"}
        What was read.
    notes : DataFrame
        Rows and columns dropped while tidying (columns :data:`NOTE_COLUMNS`).
    wide : bool
        True when the table was melted from the wide form.
    codes : dict
        Text columns already factorized while reading (only when read for
        :func:`outcomes.ingest.load.load_visits`: Parquet dictionary pages, CSV cells parsed as
        categoricals), so that the PHI guard and the contract need not hash millions of
        strings again: column -> ``(codes, uniques)`` exactly as ``pd.factorize`` of the
        column's cells returns them (``uniques`` as a ``str`` Series).  The frame then holds
        these columns as Categoricals standing for their cells.  Empty from
        :func:`read_records`.
    """

    frame: pd.DataFrame
    rows: npt.NDArray[np.int64]
    source: str
    sha256: str
    fmt: str
    notes: pd.DataFrame = field(default_factory=notes_frame)
    wide: bool = False
    codes: dict[str, Factorized] = field(default_factory=dict, repr=False, compare=False)


def read_records(
    source: str | os.PathLike[str] | pd.DataFrame, *, registry: Mapping[str, Measure] | None = None, coded: bool = False
) -> RawTable:
    """Read a visits file (CSV or Parquet, long or wide form) or a DataFrame.

    Parameters
    ----------
    source : path or DataFrame
        The file to read; its format is detected from its content.
    registry : mapping of code -> Measure, optional
        Measure codes recognised as columns of a wide table (default: built-in registry).
    coded : bool, default False
        Leave Parquet text columns dictionary-encoded: such columns of ``frame`` are pandas
        Categoricals whose cells are given by :attr:`RawTable.codes` (skipping millions of
        strings that would only be coded again).  Only for callers that read text through
        ``codes`` (:func:`outcomes.ingest.load.load_visits`).

    Returns
    -------
    RawTable

    Raises
    ------
    OutcomesError
        When the file cannot be read as a table (see the module docstring for rules).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "v.csv"
    >>> _ = p.write_bytes(b"\\xef\\xbb\\xbfpatient_id,visit_day,measure,value\\nA1,0,pain_nprs,6\\n,,,\\n")
    >>> raw = read_records(p)
    >>> raw.fmt, raw.frame.columns.tolist(), raw.rows.tolist(), raw.notes["rule"].tolist()
    ('csv', ['patient_id', 'visit_day', 'measure', 'value'], [2], ['blank_row'])
    """
    reg = REGISTRY if registry is None else registry
    codes: dict[str, Factorized] = {}
    if isinstance(source, pd.DataFrame):
        frame = source.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        name, digest, fmt = _FRAME_SOURCE, _frame_sha256(frame), "frame"
    else:
        name = str(source)
        data = _read_bytes(Path(source), name)
        digest = hashlib.sha256(data).hexdigest()
        if data[:4] == b"PAR1":
            (frame, codes), fmt = _parse_parquet(data, name, coded), "parquet"
        else:
            (frame, codes), fmt = _parse_csv(data, name, coded), "csv"
        del data
    return tidy_records(
        frame, np.arange(2, len(frame) + 2, dtype=np.int64), name, digest, fmt, registry=reg, codes=codes
    )


def tidy_records(
    frame: pd.DataFrame,
    rows: npt.NDArray[np.int64],
    source: str,
    sha256: str,
    fmt: str,
    *,
    registry: Mapping[str, Measure] | None = None,
    codes: Mapping[str, Factorized] | None = None,
) -> RawTable:
    """Tidy a table already read (blank rows and columns, wide -> long) into a :class:`RawTable`.

    What :func:`read_records` does after parsing; the Dask engine calls it on each
    partition of a Parquet file with the partition's file row numbers.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = tidy_records(pd.DataFrame({"patient_id": ["p1", ""], "visit_day": [0, None], "pain_nprs": [6, None]}),
    ...                    np.array([10, 11]), "part.parquet", "", "parquet")
    >>> raw.rows.tolist(), raw.notes["rule"].tolist()
    ([10], ['blank_row'])
    """
    reg = REGISTRY if registry is None else registry
    codes = dict(codes or {})
    frame, rows, notes, codes = _tidy(frame, rows, source, fmt, codes)
    wide = _is_wide(frame, reg)
    if wide:
        frame, codes = _materialize(frame, codes), {}  # coded columns hold whole rows: not after melting
        frame, rows, missing = _wide_to_long(frame, rows, reg, source)
        notes = pd.concat([notes, missing], ignore_index=True)
    return RawTable(frame, rows, source, sha256, fmt, notes, wide, codes)


# --- reading bytes -----------------------------------------------------------------------------


def _fail(rule: str, message: str, source: str, rows: tuple[int, ...] = (), column: str | None = None) -> NoReturn:
    raise OutcomesError(Problem(rule, message, source, rows, column))


def _read_bytes(path: Path, name: str) -> bytes:
    """The file's bytes: a regular file of at most ``max_file_bytes`` (see :mod:`outcomes.safety.files`)."""
    data = read_input_bytes(path, source=name, limit="max_file_bytes", what="the visits file (CSV or Parquet)")
    if not re.search(rb"[^ \t\r\n\xef\xbb\xbf]", data):  # data.strip() without copying the bytes
        _fail("file_not_empty", "the file is empty (no header, no rows)", name)
    return data


def _frame_sha256(frame: pd.DataFrame) -> str:
    h = hashlib.sha256("\x1f".join(frame.columns).encode())
    try:
        h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    except TypeError:  # unhashable cells (lists, dicts): fall back to their text form
        h.update(frame.to_csv(index=False).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _parse_parquet(data: bytes, name: str, coded: bool = False) -> tuple[pd.DataFrame, dict[str, Factorized]]:
    """The table, and the text columns left coded (see :func:`_read`)."""

    if data[-4:] != b"PAR1":
        _fail(
            "parquet_readable",
            "starts like a Parquet file but its end is missing (truncated "
            "copy or interrupted download?); export it again",
            name,
        )
    try:  # the footer only: nothing is decoded before its sizes and types are checked
        footer = pq.ParquetFile(pa.BufferReader(data))
        metadata, arrow_schema = footer.metadata, footer.schema_arrow
    except (pa.ArrowException, OSError, ValueError) as exc:
        _fail("parquet_readable", f"is not a readable Parquet file ({type(exc).__name__}); export it again", name)
    check_parquet_metadata(metadata, arrow_schema, name)
    del footer
    try:
        if not coded:
            return pq.read_table(pa.BufferReader(data)).to_pandas(), {}
        schema = pq.read_schema(pa.BufferReader(data))
        text = [
            f.name
            for f in schema
            if (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
            and f.name in _plain_text_columns(schema)
        ]
        if len(set(schema.names)) != len(schema.names):
            text = []  # columns are found by name
        table = pq.read_table(pa.BufferReader(data), read_dictionary=text)
        coded_names = [f.name for f in table.schema if f.name in text and pa.types.is_dictionary(f.type)]
        # only the other columns go through to_pandas; a coded column is its codes, held by a
        # Categorical built without copying or checking them (its cells are read through ``codes``)
        frame = table.drop_columns(coded_names).to_pandas()
        codes: dict[str, Factorized] = {}
        for c in coded_names:
            column = table.column(c).unify_dictionaries()
            dictionary = column.chunk(0).dictionary if column.num_chunks else None
            indices = [chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False) for chunk in column.chunks]
            raw_codes = np.concatenate(indices) if indices else np.zeros(0, dtype=np.int32)
            codes[c] = _dictionary_codes(raw_codes, dictionary) or _first_seen(raw_codes, _text_values(dictionary))
        del table
        columns = {
            c: pd.Categorical.from_codes(codes[c][0], dtype=pd.CategoricalDtype(pd.Index(codes[c][1])), validate=False)
            if c in codes
            else frame[c]
            for c in schema.names
            if c in codes or c in frame.columns
        }
        return pd.DataFrame(columns, copy=False), codes
    except (pa.ArrowException, OSError, ValueError) as exc:
        _fail("parquet_readable", f"is not a readable Parquet file ({type(exc).__name__}); export it again", name)
    raise AssertionError("unreachable")  # pragma: no cover


def _type_problem(arrow_type: pa.DataType) -> tuple[str, str] | None:
    """(rule, what) when a column of this Arrow type cannot be read as contract cells, else None."""

    t = arrow_type
    if pa.types.is_dictionary(t):
        t = t.value_type
    nested = (
        pa.types.is_nested(t)
        or pa.types.is_union(t)
        or pa.types.is_dictionary(t)
        or getattr(pa.types, "is_list_view", lambda _: False)(t)
    )
    if nested:
        return "parquet_nested_column", (
            "holds nested values (lists, structs, maps or unions), not one value per cell; flatten it before exporting"
        )
    readable = (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_boolean(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_decimal(t)
        or pa.types.is_temporal(t)
        or pa.types.is_null(t)
        or getattr(pa.types, "is_string_view", lambda _: False)(t)
    )
    if not readable:
        kind = (
            "binary data (bytes)"
            if (pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t))
            else "values of an unsupported type"
        )
        return "parquet_column_type", f"holds {kind}, not numbers, booleans or text; export it as text"
    return None


def _byte_width(arrow_type: pa.DataType) -> int:
    """Bytes per cell once decoded (8 for text: an offset or a pointer per cell, before its characters)."""
    try:
        return max(int(arrow_type.bit_width) // 8, 1)
    except ValueError:  # variable width
        return 8


def check_parquet_metadata(metadata: pq.FileMetaData, schema: pa.Schema, source: str) -> None:
    """Refuse a Parquet file from its footer alone, before any column is decoded.

    Parameters
    ----------
    metadata : pyarrow.parquet.FileMetaData
        ``ParquetFile(...).metadata``.
    schema : pyarrow.Schema
        ``ParquetFile(...).schema_arrow``.
    source : str
        The file's name in messages.

    Raises
    ------
    OutcomesError
        ``limit_max_rows``, ``limit_max_columns``, ``limit_max_uncompressed_bytes`` (decoded size:
        the larger of the pages' uncompressed size and rows x cell widths), ``parquet_nested_column``
        and ``parquet_column_type`` (one problem per column, naming it).

    Examples
    --------
    >>> import io, pyarrow as pa, pyarrow.parquet as pq
    >>> buffer = io.BytesIO()
    >>> pq.write_table(pa.table({"patient_id": ["P1"], "tags": [[1, 2]]}), buffer)
    >>> footer = pq.ParquetFile(pa.BufferReader(buffer.getvalue()))
    >>> check_parquet_metadata(footer.metadata, footer.schema_arrow, "v.parquet")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    outcomes.errors.OutcomesError: v.parquet, column tags: [parquet_nested_column] holds nested values ...
    """
    limits = current_limits()
    problems: list[Problem] = []
    n_rows, n_columns = int(metadata.num_rows), len(schema)
    if n_rows > limits.max_rows:
        problems.append(limit_problem("max_rows", f"the file has {n_rows:,} rows", source))
    if n_columns > limits.max_columns:
        problems.append(limit_problem("max_columns", f"the file has {n_columns:,} columns", source))
    if problems:  # sizes first: a file of a million columns is not examined column by column
        raise OutcomesError(problems)
    pages = sum(int(metadata.row_group(i).total_byte_size) for i in range(metadata.num_row_groups))
    decoded = max(pages, n_rows * sum(_byte_width(f.type) for f in schema))
    if decoded > limits.max_uncompressed_bytes:
        problems.append(
            limit_problem(
                "max_uncompressed_bytes",
                f"the file's data is about {decoded:,} bytes once decompressed and decoded",
                source,
            )
        )
    for f in schema:
        found = _type_problem(f.type)
        if found:
            problems.append(Problem(found[0], found[1], source, (), str(f.name)))
    if problems:
        raise OutcomesError(problems)


def _plain_text_columns(schema: pa.Schema) -> set[str]:
    """Text columns that pandas reads as plain ``str`` columns (not an index, not another string type)."""
    meta = schema.pandas_metadata
    if not meta:
        return set(schema.names)
    index = {c for c in meta.get("index_columns", []) if isinstance(c, str)}
    return {c.get("field_name", c.get("name")) for c in meta.get("columns", []) if c.get("numpy_type") == "str"} - index


def _text_values(dictionary: pa.Array | None) -> pd.Series:
    if dictionary is None:
        return pd.Series([], dtype="str")
    return pd.Series(pd.array(dictionary.cast(pa.large_string()), dtype="str"))


def _cells(codes: np.ndarray, values: pd.Series) -> pd.Series:
    """``str`` cells from codes into ``values`` (-1 = missing)."""
    if not len(values):
        values = pd.Series([""], dtype="str")
    return pd.Series(values.array.take(np.asarray(codes, dtype=np.int64), allow_fill=True))


def _dictionary_codes(codes: npt.NDArray[np.signedinteger[Any]], dictionary: pa.Array | None) -> Factorized | None:
    """``pd.factorize(cells)`` of a dictionary-encoded text column, read off its dictionary
    without hashing a cell (written by hand for speed).

    Valid only when the dictionary holds distinct values, each used, numbered in order of first
    appearance (as Arrow writes them); otherwise ``None``.
    """
    uniques = _text_values(dictionary)
    if not len(codes) or uniques.isna().any():
        return None
    codes = _compact(codes, len(uniques))  # smaller ints: cheaper checks below
    seen = np.maximum.accumulate(codes)  # first appearances: each new code is one more than any before
    if seen[-1] != len(uniques) - 1 or codes[0] > 0 or (codes[1:] > seen[:-1] + 1).any():
        return None
    if not pd.Index(uniques).is_unique:
        return None
    return codes, uniques


def _compact(codes: npt.NDArray[np.signedinteger[Any]], n_values: int) -> npt.NDArray[np.signedinteger[Any]]:
    """Codes in the smallest int type that holds them (a few distinct values: 1 byte per row)."""
    return codes.astype(int_type(n_values), copy=False)


def _first_seen(codes: npt.NDArray[np.signedinteger[Any]], values: pd.Series) -> Factorized:
    """``pd.factorize(values[codes])`` (code -1 = missing): codes renumbered in order of first
    appearance by hashing small ints, not strings; unused and repeated values dropped."""
    seen = pd.unique(codes[codes >= 0])
    sub, uniques = pd.factorize(values.iloc[seen])  # repeated values (if any) merge
    remap = np.full(len(values) + 1, -1, dtype=np.int64)  # the last slot maps code -1
    remap[seen] = sub
    return _compact(remap, len(uniques))[codes], pd.Series(uniques, dtype="str")


def _categorical_codes(column: pd.Series) -> Factorized:
    """``pd.factorize(cells)`` of a categorical text column (see :func:`_first_seen`)."""
    cat = column.array
    return _first_seen(np.asarray(cat.codes), pd.Series(np.asarray(cat.categories, dtype=object), dtype="str"))


def _materialize(frame: pd.DataFrame, codes: Mapping[str, Factorized]) -> pd.DataFrame:
    """The frame with coded (categorical) text columns turned into the ``str`` cells they code."""
    if not codes:
        return frame
    return frame.assign(**{c: _cells(*codes[c]).array for c in codes if c in frame.columns})


def _row_of_offset(data: bytes, offset: int) -> int:
    """1-based line number of a byte offset."""
    return data.count(b"\n", 0, offset) + 1


def _check_text(data: bytes, name: str) -> bytes:
    """Refuse non-UTF-8 and non-text content; return the bytes without a UTF-8 BOM."""
    head = data[:_SNIFF_BYTES]
    if head[:4] == b"PK\x03\x04" or head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        _fail(
            "excel_file",
            "is an Excel workbook (or another archive), not CSV; in Excel use "
            "File > Save As > 'CSV UTF-8 (Comma delimited)', or export Parquet",
            name,
        )
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or _looks_utf16(head):
        _fail(
            "encoding_utf8",
            "is UTF-16 encoded, not UTF-8; convert it with "
            "`iconv -f UTF-16 -t UTF-8 in.csv > out.csv` or save as 'CSV UTF-8' in Excel",
            name,
        )
    if b"\x00" in head or _control_share(head) > 0.05:
        _fail("binary_file", "is a binary file, not CSV text or Parquet", name)
    if head[:3] == b"\xef\xbb\xbf":
        data = data[3:]
    try:
        if not data.isascii():  # ASCII is UTF-8: no need to decode a copy of the whole file
            data.decode("utf-8")
    except UnicodeDecodeError as exc:
        row = _row_of_offset(data, exc.start)
        guess = "Latin-1 / Windows-1252" if _is_cp1252(data) else "an unknown 8-bit encoding"
        _fail(
            "encoding_utf8",
            f"is not UTF-8 (byte 0x{data[exc.start]:02X}); it looks like {guess}. "
            "Convert it with `iconv -f WINDOWS-1252 -t UTF-8 in.csv > out.csv` or save as "
            "'CSV UTF-8' in Excel",
            name,
            (row,),
        )
    return data


def _looks_utf16(head: bytes) -> bool:
    sample = head[:2000]
    if len(sample) < 4:
        return False
    even, odd = sample[0::2], sample[1::2]
    return max(even.count(0) / len(even), odd.count(0) / len(odd)) > 0.3


def _control_share(head: bytes) -> float:
    if not head:
        return 0.0
    arr = np.frombuffer(head, dtype=np.uint8)
    control = (arr < 32) & ~np.isin(arr, (9, 10, 12, 13))
    return float(control.mean())


def _is_cp1252(data: bytes) -> bool:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


def _check_line_length(data: bytes, name: str) -> int:
    """Refuse a line over ``max_line_bytes``; return the number of line-end bytes (CR and LF)."""
    arr = np.frombuffer(data, dtype=np.uint8)
    block = 1 << 24  # line ends found block by block: no temporaries the size of the file
    ends = np.concatenate(
        [np.flatnonzero((arr[i : i + block] == 10) | (arr[i : i + block] == 13)) + i for i in range(0, len(arr), block)]
        or [np.zeros(0, dtype=np.intp)]
    )
    lengths = np.diff(np.concatenate(([-1], ends, [len(arr)])))
    longest = int(np.argmax(lengths))
    if lengths[longest] - 1 > current_limits().max_line_bytes:
        row = _row_of_offset(data, int(ends[longest - 1]) + 1 if longest else 0)
        problem = limit_problem(
            "max_line_bytes",
            f"a line is {lengths[longest] - 1:,} bytes long: this is not a visits table (missing line breaks?)",
            name,
            (row,),
        )
        raise OutcomesError(replace(problem, rule="line_too_long"))
    return len(ends)


def _raise_limit(name: str, what: str, source: str, rows: tuple[int, ...] = ()) -> NoReturn:
    raise OutcomesError(limit_problem(name, what, source, rows))


def _check_unique(columns: pd.Index, name: str, where: str = "", rows: tuple[int, ...] = ()) -> None:
    """Refuse repeated column names (``unique_columns``), in time linear in the number of columns."""
    dupes = sorted(set(columns[columns.duplicated()]))
    if dupes:
        shown = dupes[:10]
        more = f" (+{len(dupes) - len(shown)} more)" if len(dupes) > len(shown) else ""
        _fail(
            "unique_columns", f"column name(s) {shown}{more} appear more than once{where}", name, rows, ", ".join(shown)
        )


def _check_delimiter(header: str, name: str) -> list[str]:
    if not header.strip():
        _fail("csv_parsable", "the first line is empty: the header (column names) must be on line 1", name, (1,))
    try:
        fields = next(csv.reader([header]), [])
    except csv.Error as exc:
        _fail("csv_parsable", f"the header line cannot be parsed as CSV ({exc})", name, (1,))
    counts = {d: header.count(d) for d in (";", "\t", "|")}
    delim, n = max(counts.items(), key=lambda kv: kv[1])
    if n > len(fields) - 1:  # more of another separator than commas
        label = {";": "semicolons (';')", "\t": "tabs", "|": "pipes ('|')"}[delim]
        _fail(
            "delimiter_comma",
            f"the header is separated by {label}, not commas; save the file as "
            "comma-separated CSV (e.g. Excel 'CSV UTF-8 (Comma delimited)')",
            name,
            (1,),
        )
    return [f.strip() for f in fields]


def _parse_csv(data: bytes, name: str, coded: bool = False) -> tuple[pd.DataFrame, dict[str, Factorized]]:
    """The table (all cells text), and its columns left coded (see :func:`_read`)."""
    data = _check_text(data, name)
    n_lines = _check_line_length(data, name)
    end = re.search(rb"\r\n|\r|\n", data)
    first = (data[: end.start()] if end else data).decode("utf-8")  # the header line (no copy of the rest)
    header = _check_delimiter(first, name)
    limits = current_limits()
    if len(header) > limits.max_columns:  # before a cell is parsed
        _raise_limit("max_columns", f"the header has {len(header):,} columns", name, (1,))
    _check_unique(pd.Index([h for h in header if h]), name, " in the header", (1,))
    dtype: type[str] | defaultdict[int, str | type[str]] = str
    if coded:
        # the parser hashes each cell straight into a categorical (categories stay text) instead of
        # making millions of str objects; but a categorical column costs ~1 ms to set up, so in a short
        # file only the contract's columns are (a file of 1,000 columns and few rows stays fast)
        tall = n_lines >= _TALL_LINES
        dtype = defaultdict(lambda: str, {i: "category" for i, h in enumerate(header) if tall or h in ALL_COLUMNS})
    try:
        # at most max_rows records (+ header, + 1 to tell that there are more) are ever parsed
        table = pd.read_csv(
            io.BytesIO(data),
            header=None,
            dtype=dtype,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            index_col=False,
            encoding="utf-8",
            nrows=limits.max_rows + 2,
        )
    except pd.errors.ParserError as exc:
        msg = str(exc).strip()
        rows = tuple(int(tok) for tok in msg.replace(",", " ").split() if tok.isdigit())[1:2]
        _fail(
            "csv_parsable",
            "cannot be parsed as CSV: a row with more cells than the header (stray "
            "comma?) or an unclosed quote; " + msg.split(". ", 1)[-1].replace("C error: ", ""),
            name,
            rows,
        )
    if len(table) - 1 > limits.max_rows:
        _raise_limit("max_rows", f"the file has more than {limits.max_rows:,} records", name)
    names = [str(table.iat[0, i]).strip() for i in range(table.shape[1])]  # no row of mixed types built
    frame = table.iloc[1:].reset_index(drop=True)
    frame.columns = [n if n else f"unnamed_{i + 1}" for i, n in enumerate(names)]
    codes = (
        {c: _categorical_codes(frame[c]) for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)}
        if coded
        else {}
    )
    return frame, codes


# --- tidying ---------------------------------------------------------------------------------


def _blank(series: pd.Series) -> npt.NDArray[np.bool_]:
    """True where a cell is missing or only white space."""
    missing = series.isna().to_numpy(dtype=bool, copy=True)
    if pd.api.types.is_string_dtype(series.dtype) or pd.api.types.is_object_dtype(series.dtype):
        text = series.astype("str").str.strip()
        missing |= (text == "").to_numpy(dtype=bool, na_value=True)
    return missing


def _tidy(
    frame: pd.DataFrame, rows: npt.NDArray[np.int64], name: str, fmt: str, codes: dict[str, Factorized]
) -> tuple[pd.DataFrame, npt.NDArray[np.int64], pd.DataFrame, dict[str, Factorized]]:
    if codes and not frame.rename(columns=lambda c: str(c).strip()).columns.is_unique:
        frame, codes = _materialize(frame, codes), {}  # columns are found by name
    frame = frame.rename(columns=lambda c: str(c).strip())
    codes = {str(c).strip(): v for c, v in codes.items()}
    notes: list[pd.DataFrame] = []
    if len(frame.columns) and fmt == "frame":
        _check_unique(frame.columns, name)
    unnamed = [
        c
        for c in frame.columns
        if (c.startswith(("unnamed_", "Unnamed:")) or not c)
        and (_coded_blank(codes[c]) if c in codes else _blank(frame[c])).all()
    ]
    notes.append(column_notes(unnamed, "blank_column", "column without a name or any content dropped"))
    frame = frame.drop(columns=unnamed)
    codes = {c: v for c, v in codes.items() if c in frame.columns}
    if len(frame.columns) and len(frame):
        blank_row = _blank_rows(frame, codes)
        if blank_row.any():
            notes.append(notes_frame(rows[blank_row], "", "blank_row", "row with no content dropped"))
            frame, codes = _materialize(frame, codes), {}  # codes are of the rows as read
            frame = frame.loc[~blank_row].reset_index(drop=True)
            rows = rows[~blank_row]
    return frame, rows, pd.concat([notes_frame(), *notes], ignore_index=True), codes


def _coded_blank(factorized: Factorized, rows: npt.NDArray[np.intp] | None = None) -> npt.NDArray[np.bool_]:
    """Blank cells of a factorized column (at ``rows`` only, if given), checked on its distinct values."""
    codes, uniques = factorized
    blank: npt.NDArray[np.bool_] = np.append(_blank(uniques), True)[
        codes if rows is None else codes[rows]
    ]  # -1: missing
    return blank


def _blank_rows(frame: pd.DataFrame, codes: Mapping[str, Factorized]) -> npt.NDArray[np.bool_]:
    """True where every cell of the row is blank.

    Written by hand for speed: each column is only checked on the rows still blank in the columns
    before it (usually none after the first), and a factorized column on its distinct values only.
    """
    candidates = np.arange(len(frame))
    for c in frame.columns:
        if c in codes:
            blank = _coded_blank(codes[c], candidates)
        else:
            column = frame[c]
            blank = _blank(column if len(candidates) == len(frame) else column.iloc[candidates])
        candidates = candidates[blank]
        if not len(candidates):
            break
    blank_row = np.zeros(len(frame), dtype=bool)
    blank_row[candidates] = True
    return blank_row


def _is_wide(frame: pd.DataFrame, registry: Mapping[str, Measure]) -> bool:
    cols = set(frame.columns)
    return not ({"measure", "value"} & cols) and any(c in registry for c in cols)


def _wide_to_long(
    frame: pd.DataFrame, rows: npt.NDArray[np.int64], registry: Mapping[str, Measure], source: str
) -> tuple[pd.DataFrame, npt.NDArray[np.int64], pd.DataFrame]:
    measures = [c for c in frame.columns if c in registry]
    ids = [c for c in frame.columns if c not in registry]
    present = np.column_stack([~_blank(frame[m]) for m in measures])  # shape (n rows, n measures)
    n_long = int(present.sum())
    if n_long > current_limits().max_rows:  # before the long frame is built
        _raise_limit("max_rows", f"the wide table holds {n_long:,} measurements (rows once melted)", source)
    r_idx, m_idx = np.nonzero(present)  # row-major: each visit row's measures in column order
    cells = frame[measures].to_numpy(dtype=object)[r_idx, m_idx]
    melted = pd.DataFrame(
        {
            "measure": pd.Series(np.asarray(measures, dtype=object)[m_idx], dtype="str"),
            "value": pd.Series(cells, dtype="str" if _all_text(frame, measures) else object),
        }
    )
    # joined at once: inserting columns one by one into a frame of many columns is slow (and warns)
    long = pd.concat([frame.iloc[r_idx][ids].reset_index(drop=True), melted], axis=1)
    if "side" in long.columns:  # a visit row's side belongs to its sided measures only
        sided = long["measure"].isin([m for m in measures if registry[m].sided]).to_numpy()
        long["side"] = long["side"].where(sided, "" if _all_text(frame, ["side"]) else None)
    empty = ~present.any(axis=1)
    missing = notes_frame(rows[empty], "value", "value_missing", "wide row without any measurement")
    return long, rows[r_idx], missing


def _all_text(frame: pd.DataFrame, columns: list[str]) -> bool:
    return all(pd.api.types.is_string_dtype(frame[c].dtype) for c in columns)
