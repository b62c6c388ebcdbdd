"""Write DataFrames to XLSX: bold frozen header, autofilter, widths and number formats.

One sheet per frame, through xlsxwriter with formulas, URLs and number
guessing switched off, so text stays text. Text cells that a spreadsheet
would run as a formula get the same leading `'` as in CSV (OWASP); numbers
and dates stay numbers and dates. Written atomically; Excel's size limits are
checked before anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from winback_cli.atomic import atomic_writer
from winback_cli.errors import OutputError
from winback_cli.outputs import (
    Kind,
    cell_values,
    column_kind,
    csv_field,
    has_time,
    naive_dates,
    neutralise,
    neutralise_text,
    normalise_column,
    with_none,
)

_EXCEL_MAX_ROWS = 1_048_575  # below the header row
_EXCEL_MAX_COLUMNS = 16_384
_XLSX_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "nan_inf_to_errors": True,
    "constant_memory": True,  # rows stream to disk: 500k rows need no gigabytes
}


def write_xlsx(
    path: Path,
    sheets: dict[str, pd.DataFrame],
    *,
    force: bool = False,
    money_columns: Iterable[str] = (),
    percent_columns: Iterable[str] = (),
) -> Path:
    """Write one sheet per frame: bold frozen header, autofilter, widths and number formats."""
    import xlsxwriter  # heavy, and only this command needs it

    path = Path(path)
    for name, df in sheets.items():
        _check_excel_limits(path, name, df)
    column_formats = dict.fromkeys(money_columns, "money")
    column_formats.update(dict.fromkeys(percent_columns, "percent"))
    with atomic_writer(path, force=force, mode="wb") as handle:
        workbook = xlsxwriter.Workbook(handle, _XLSX_OPTIONS)
        formats = {
            "header": workbook.add_format({"bold": True}),
            "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
            "datetime": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
            "money": workbook.add_format({"num_format": "#,##0.00"}),
            "percent": workbook.add_format({"num_format": "0.0%"}),
        }
        for sheet_name, df in zip(excel_sheet_names(sheets), sheets.values(), strict=True):
            _write_sheet(workbook.add_worksheet(sheet_name), df, formats, column_formats)
        workbook.close()
    return path


def excel_sheet_names(names: Iterable[str]) -> list[str]:
    """Make names Excel accepts: ≤31 chars, none of []:*?/\\, unique ignoring case."""
    taken: set[str] = set()
    result = []
    for name in names:
        clean = re.sub(r"[\[\]:*?/\\]", "_", str(name)).strip().strip("'")[:31] or "Sheet"
        if clean.casefold() == "history":  # reserved by Excel
            clean += "_"
        candidate, number = clean, 2
        while candidate.casefold() in taken:
            suffix = f" ({number})"
            candidate, number = clean[: 31 - len(suffix)] + suffix, number + 1
        taken.add(candidate.casefold())
        result.append(candidate)
    return result


def _check_excel_limits(path: Path, sheet: str, df: pd.DataFrame) -> None:
    rows, columns = df.shape
    if rows > _EXCEL_MAX_ROWS or columns > _EXCEL_MAX_COLUMNS:
        raise OutputError(
            f"cannot write {path}: sheet {sheet!r} has {rows:,} rows and {columns:,} columns, "
            f"Excel allows at most {_EXCEL_MAX_ROWS:,} rows and {_EXCEL_MAX_COLUMNS:,} columns; "
            "write CSV instead (--format csv)"
        )


def _write_sheet(sheet, df: pd.DataFrame, formats: dict, column_formats: dict) -> None:
    """Header, widths, then the cells row by row (constant_memory demands row order)."""
    columns = []
    for index, name in enumerate(df.columns):
        series = normalise_column(df.iloc[:, index])
        kind = column_kind(series)
        style = column_formats.get(str(name)) if kind in ("int", "float") else None
        if kind == "date":
            style = "datetime" if has_time(naive_dates(series)) else "date"
        width = max(len(str(name)) + 3, _content_width(series, style))
        cell_format = formats[style] if style else None
        sheet.set_column(index, index, min(width, 50), cell_format)
        sheet.write_string(0, index, neutralise(str(name)), formats["header"])
        columns.append((index, _xlsx_values(series, kind), cell_format))
    sheet.freeze_panes(1, 0)
    if len(df.columns):
        sheet.autofilter(0, 0, len(df), len(df.columns) - 1)
    for row in range(len(df)):
        for index, values, cell_format in columns:
            value = values[row]
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(row + 1, index, value, cell_format)
            elif isinstance(value, bool):
                sheet.write_boolean(row + 1, index, value, cell_format)
            else:
                sheet.write_number(row + 1, index, value, cell_format)


def _xlsx_values(series: pd.Series, kind: Kind) -> list[object]:
    """Cell values: numbers, booleans, Excel date serials, neutralised text; None when missing."""
    if kind == "date":
        dates = naive_dates(series)
        serial = (dates - pd.Timestamp("1899-12-30")) / pd.Timedelta(days=1)
        # Excel dates start 1900-03-01 (serial 61); older ones go in as ISO text.
        early = (serial < 61).to_numpy(bool)
        values = with_none(serial.to_numpy("float64").tolist(), dates.isna().to_numpy())
        for i in np.flatnonzero(early):
            values[i] = dates.iloc[i].isoformat()
        return values
    if kind == "int" and series.abs().max() >= 10**15:
        # Excel keeps 15 significant digits; long ids would lose their tail.
        return series.astype("str").to_numpy(object, na_value=None).tolist()
    if kind == "text":
        return neutralise_text(series).to_pylist()
    return cell_values(series)


def _content_width(series: pd.Series, style: str | None) -> int:
    if style in ("date", "datetime"):
        return 12 if style == "date" else 20
    if series.empty:
        return 0
    longest = int(pc.max(pc.utf8_length(csv_field(series, "standard"))).as_py() or 0)
    if style == "money":
        longest += longest // 3 + 3  # thousands separators and ".00"
    return longest + 2
