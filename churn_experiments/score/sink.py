"""Where scored chunks go: the output and rejects files, and the running summaries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from churn_experiments.score.drift import DriftCounter
from churn_experiments.score.reasons import reason_columns
from churn_experiments.score.scorer import (
    INPUT_PREFIX,
    PREDICTED,
    PROBABILITY,
    REJECTED,
)
from churn_experiments.score.tables import TableWriter

ROW = "row"  # the row's number in the input, 1 for the first data row
REASON = "reason"
HISTOGRAM_BINS = 20  # of the probabilities, over [0, 1]


class ScoreSink:
    """Write each scored chunk and keep counts; memory does not grow with the input.

    The rejects file is written only when a row is rejected.
    """

    def __init__(
        self,
        output: str | Path,
        rejects: str | Path,
        id_columns: Sequence[str],
        reasons: int,
        reference: Mapping[str, Any] | None,
    ) -> None:
        self.output_path, self.rejects_path = Path(output), Path(rejects)
        self.id_columns = list(id_columns)
        self.reason_columns = reason_columns(reasons)
        self.drift = DriftCounter(reference) if reference else None
        self.histogram = np.zeros(HISTOGRAM_BINS, dtype=np.int64)
        self.rows = self.scored = self.rejected = self.predicted = 0
        self._output: TableWriter | None = None
        self._rejects: TableWriter | None = None

    def consume(self, frame: pd.DataFrame) -> None:
        """Write one chunk's rows (as :class:`ChunkScorer` returns them)."""
        frame = frame.reset_index(drop=True)
        frame.insert(0, ROW, np.arange(self.rows + 1, self.rows + len(frame) + 1))
        self.rows += len(frame)
        if self._output is None:
            self._open(frame)
        refused = frame[REJECTED].notna().to_numpy()
        scored = frame[~refused]
        self._output.write(scored)
        self.scored += len(scored)
        self.predicted += int(scored[PREDICTED].sum())
        self.histogram += np.histogram(
            scored[PROBABILITY].to_numpy(float), HISTOGRAM_BINS, range=(0.0, 1.0)
        )[0]
        if self.drift is not None:
            inputs = scored.filter(like=INPUT_PREFIX, axis=1)
            self.drift.add(inputs.rename(columns=lambda c: c[len(INPUT_PREFIX) :]))
        if refused.any():
            self._rejects_writer().write(
                frame[refused].rename(columns={REJECTED: REASON})
            )
            self.rejected += int(refused.sum())

    def close(self) -> None:
        """Finish both files (an empty output when the input had no rows)."""
        if self._output is None:
            self._open(pd.DataFrame(columns=self.id_columns, dtype=str))
        self._output.close()
        if self._rejects is not None:
            self._rejects.close()

    def abort(self) -> None:
        """Remove the partial files of a failed scoring."""
        for writer in (self._output, self._rejects):
            if writer is not None:
                writer.abort()

    def _open(self, frame: pd.DataFrame) -> None:
        ids = pa.Schema.from_pandas(frame[self.id_columns], preserve_index=False)
        row = pa.field(ROW, pa.int64())
        self._ids = list(ids)
        self._output = TableWriter(
            self.output_path,
            pa.schema(
                [
                    row,
                    *ids,
                    pa.field(PROBABILITY, pa.float64()),
                    pa.field(PREDICTED, pa.int64()),
                    *(
                        pa.field(
                            name,
                            pa.float64() if name.endswith("_shap") else pa.string(),
                        )
                        for name in self.reason_columns
                    ),
                ]
            ),
        )
        self.rejects_path.unlink(missing_ok=True)  # an old file would tell of old rows

    def _rejects_writer(self) -> TableWriter:
        if self._rejects is None:
            self._rejects = TableWriter(
                self.rejects_path,
                pa.schema(
                    [
                        pa.field(ROW, pa.int64()),
                        *self._ids,
                        pa.field(REASON, pa.string()),
                    ]
                ),
            )
        return self._rejects
