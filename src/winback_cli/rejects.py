"""Rejected rows, collected from every check of a load into one frame.

Each check adds the rows it refuses with their file, spreadsheet row, column,
value and reason; `frame` returns them sorted by file and row, so a reject
list reads like the file whatever order the checks (or threads) ran in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from winback_cli.tables import FILE, REJECT_COLUMNS, ROW, empty_rejects


class RejectLog:
    """Collects rejected rows from several checks into one frame."""

    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []

    def add_frame(self, frame: pd.DataFrame) -> None:
        if len(frame):
            self._parts.append(frame.loc[:, list(REJECT_COLUMNS)])

    def add(self, rows: pd.DataFrame, mask: pd.Series, column: str, values, reasons) -> None:
        if not mask.any():
            return
        picked = rows.loc[mask, [FILE, ROW]]  # not every column: the rest go unread
        self._parts.append(
            pd.DataFrame(
                {
                    "file": picked[FILE].astype("str").to_numpy(),
                    "row": picked[ROW].to_numpy(dtype=np.int64),
                    "column": column,
                    "value": pd.Series(values)[mask.to_numpy()]
                    .astype("str")
                    .str.slice(0, 200)
                    .to_numpy()
                    if not isinstance(values, str)
                    else values,
                    "reason": pd.Series(reasons)[mask.to_numpy()].to_numpy()
                    if not isinstance(reasons, str)
                    else reasons,
                }
            )
        )

    def frame(self) -> pd.DataFrame:
        if not self._parts:
            return empty_rejects()
        joined = pd.concat(self._parts, ignore_index=True)
        return joined.sort_values(["file", "row"], kind="stable").reset_index(drop=True)

    def extend(self, other: RejectLog) -> None:
        """Take over the rejects another log collected."""
        self._parts.extend(other._parts)
