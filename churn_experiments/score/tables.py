"""Read a customer table in chunks and write tables chunk by chunk (CSV or Parquet).

Memory stays bounded by the chunk size: CSV is streamed with pyarrow's reader (every
column read as text; the data contract decides the types), Parquet by record batches.
Output is written to ``<output>.partial`` and renamed when complete, so a failed run
leaves no half-written file under the output's name.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from churn_experiments.errors import ChurnExperimentsError

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
CSV_BLOCK_BYTES = 4 << 20  # pyarrow reads CSV in blocks of this size


class TableError(ChurnExperimentsError, ValueError):
    """A table cannot be read or written (missing file, unknown format, bad CSV)."""


def table_format(path: str | os.PathLike[str]) -> str:
    """``csv`` or ``parquet``, from the file's extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise TableError(
            f"{path}: cannot tell the format from {suffix or 'no extension'!r};"
            f" use one of {', '.join(FORMATS)}"
        )
    return FORMATS[suffix]


def input_columns(path: str | os.PathLike[str]) -> list[str]:
    """The column names of a CSV or Parquet file, without reading its rows."""
    path = _existing(path)
    if table_format(path) == "parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    with open(path, encoding="utf-8-sig", newline="") as text:
        header = next(csv.reader(text), None)
    if not header:
        raise TableError(f"{path}: the file is empty; expected a header line")
    return [name.strip() for name in header]


def count_rows(path: str | os.PathLike[str]) -> int:
    """Data rows in the file: Parquet's metadata, or a CSV's line count less the header.

    A CSV with line breaks inside quoted values counts more rows than it holds; the
    number only sizes the progress bar and the SHAP budget check.
    """
    path = _existing(path)
    if table_format(path) == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    lines, last = 0, b"\n"
    with open(path, "rb") as data:
        while block := data.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    return max(lines + (last != b"\n") - 1, 0)


def file_digest(path: str | os.PathLike[str]) -> str:
    """The sha256 of the file's bytes."""
    digest = hashlib.sha256()
    with open(_existing(path), "rb") as data:
        while block := data.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def read_chunks(
    path: str | os.PathLike[str], chunk_size: int
) -> Iterator[pd.DataFrame]:
    """The file's rows in DataFrames of ``chunk_size`` rows (the last may be fewer)."""
    path = _existing(path)
    parquet = table_format(path) == "parquet"
    batches = _parquet_batches(path) if parquet else _csv_batches(path)
    pending: list[pa.RecordBatch] = []
    held = 0
    try:
        for batch in batches:
            pending.append(batch)
            held += batch.num_rows
            while held >= chunk_size:
                table = pa.Table.from_batches(pending)
                yield table.slice(0, chunk_size).to_pandas()
                rest = table.slice(chunk_size)
                pending, held = rest.to_batches(), rest.num_rows
    except pa.ArrowInvalid as err:
        raise TableError(f"{path}: cannot be read: {err}") from err
    if held:
        yield pa.Table.from_batches(pending).to_pandas()


def csv_options(path: str | os.PathLike[str]) -> tuple[Any, Any]:
    """pyarrow's CSV read and convert options: the header's names, every column text."""
    import pyarrow.csv as pcsv

    names = input_columns(path)
    return (
        pcsv.ReadOptions(column_names=names, skip_rows=1, block_size=CSV_BLOCK_BYTES),
        pcsv.ConvertOptions(
            column_types={name: pa.string() for name in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _csv_batches(path: Path) -> Iterator[pa.RecordBatch]:
    import pyarrow.csv as pcsv

    read_options, convert_options = csv_options(path)
    yield from pcsv.open_csv(
        path, read_options=read_options, convert_options=convert_options
    )


def _parquet_batches(path: Path) -> Iterator[pa.RecordBatch]:
    import pyarrow.parquet as pq

    yield from pq.ParquetFile(path).iter_batches(batch_size=64_000)


def _existing(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if not path.is_file():
        raise TableError(f"input file {path} does not exist")
    return path


class TableWriter:
    """Append DataFrames to one CSV or Parquet file with a fixed schema.

    The file appears under its name only when :meth:`close` is called without error;
    the schema is taken from the first frame unless given.
    """

    def __init__(self, path: str | os.PathLike[str], schema: pa.Schema | None = None):
        self.path = Path(path)
        self.format = table_format(self.path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self.schema = schema
        self.rows = 0
        self._writer = None

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame``'s rows (its columns in the schema's order)."""
        if self._writer is None:
            self._open(frame)
        table = pa.Table.from_pandas(
            frame[self.schema.names], schema=self.schema, preserve_index=False
        )
        self._writer.write_table(table)
        self.rows += len(frame)

    def close(self) -> None:
        """Finish the file and move it to its name (an empty table if nothing came)."""
        if self._writer is None:
            if self.schema is None:
                raise TableError(f"{self.path}: nothing to write and no columns known")
            self._open(None)
        self._writer.close()
        os.replace(self.partial, self.path)

    def abort(self) -> None:
        """Drop the partial file."""
        if self._writer is not None:
            self._writer.close()
        self.partial.unlink(missing_ok=True)

    def _open(self, frame: pd.DataFrame | None) -> None:
        if self.schema is None:
            self.schema = pa.Schema.from_pandas(frame, preserve_index=False)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.format == "parquet":
            import pyarrow.parquet as pq

            self._writer = pq.ParquetWriter(self.partial, self.schema)
        else:
            import pyarrow.csv as pcsv

            self._writer = pcsv.CSVWriter(self.partial, self.schema)
