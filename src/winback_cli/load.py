"""Load order and customer exports into typed, canonical DataFrames.

This is the only module that knows about files, encodings, delimiters,
decimal commas and header names. Downstream code sees `Orders` and
`Customers`: canonical column names, parsed dates and numbers, identifiers
as stripped strings. A row that cannot be used is never dropped silently:
it goes to the rejects frame with its file, spreadsheet row, column, value
and reason, and `rows_read == rows_used + rows_rejected` always holds.
"""

from __future__ import annotations

import datetime as dt
import glob
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from winback_cli.amounts import parse_amounts
from winback_cli.columns import (
    ORDER_OPTIONAL,
    ORDER_REQUIRED,
    ColumnMap,
    map_columns,
)
from winback_cli.dates import parse_dates
from winback_cli.duplicates import drop_duplicates, duplicates_note
from winback_cli.errors import AmbiguousDateError, InputError, UsageError
from winback_cli.rules import Rules
from winback_cli.slices import Progress, iter_table, prefetch
from winback_cli.tables import FILE, REJECT_COLUMNS, ROW, RawTable, require_header

# Orders dated later than this many days after today are typos, not orders.
FUTURE_GRACE_DAYS = 1


@dataclass(frozen=True)
class Orders:
    """Usable order rows (canonical columns) and what was left out."""

    frame: pd.DataFrame
    rejects: pd.DataFrame
    rows_read: int
    files: tuple[str, ...]
    profiles: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())
    rows_used: int | None = None  # when `frame` does not hold the rows (a streamed scan)

    @property
    def used(self) -> int:
        return len(self.frame) if self.rows_used is None else self.rows_used

    @property
    def has_cost(self) -> bool:
        return "cost" in self.frame.columns

    @property
    def has_category(self) -> bool:
        return "category" in self.frame.columns


def expand_paths(paths: Sequence[str]) -> list[str]:
    """Expand globs (for shells that do not) and keep `-` for stdin."""
    result: list[str] = []
    for path in paths:
        if path != "-" and glob.has_magic(path):
            matches = sorted(glob.glob(path))
            if not matches:
                raise UsageError(f"{path}: no file matches this pattern")
            result.extend(matches)
        elif path != "-" and Path(path).is_dir():
            # A folder of monthly exports: its Parquet and CSV files, in name order.
            files = sorted(
                str(f)
                for f in Path(path).iterdir()
                if f.suffix.lower() in (".parquet", ".csv", ".txt", ".tsv") and f.is_file()
            )
            if not files:
                raise UsageError(f"{path}: the folder holds no .parquet or .csv files")
            result.extend(files)
        else:
            result.append(path)
    if result.count("-") > 1:
        raise UsageError("'-' (standard input) can be given only once")
    return result


def input_bytes(paths: Sequence[str]) -> int | None:
    """Total size of the files to read, or None when it cannot be known (stdin)."""
    files = expand_paths(paths)
    if "-" in files:
        return None
    try:
        return sum(Path(f).stat().st_size for f in files)
    except OSError:
        return None  # reading them will say what is wrong


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
        picked = rows.loc[mask]
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
        from winback_cli.tables import empty_rejects

        if not self._parts:
            return empty_rejects()
        joined = pd.concat(self._parts, ignore_index=True)
        return joined.sort_values(["file", "row"], kind="stable").reset_index(drop=True)


@dataclass
class LoadLog:
    """What reading the order files found besides usable rows; filled while reading."""

    rejects: RejectLog = field(default_factory=RejectLog)
    warnings: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    rows_read: int = 0


@dataclass
class _Decided:
    """Per file, what the first slices decided, so later slices read the same way."""

    mapping: ColumnMap | None = None
    decimal: str | None = None
    day_first: bool | None = None
    currencies: set[str] = field(default_factory=set)  # seen in amounts, without a column


def iter_orders(
    paths: Sequence[str],
    rules: Rules,
    log: LoadLog,
    *,
    today: dt.date | None = None,
    progress: Progress | None = None,
) -> Iterator[pd.DataFrame]:
    """Parsed order rows, a slice of a file at a time; rejects and notes go to `log`.

    Exact duplicate rows are not removed here: they can lie in different slices.
    """
    today = today or dt.date.today()
    for path in expand_paths(paths):
        decided, held = _Decided(), None
        for raw in prefetch(iter_table(path, progress=progress)):
            if decided.mapping is None:
                decided.mapping = _map_orders(raw, rules)
                log.files.append(raw.source)
                log.profiles.append(decided.mapping.profile)
            log.rejects.add_frame(raw.rejects)
            log.warnings.extend(raw.warnings)
            log.rows_read += raw.rows_read
            frame = _canonical(raw, decided.mapping)
            if decided.mapping.profile == "shopify":
                frame, held = _hold_last_order(frame, held)
            if len(frame):
                yield _parse_slice(frame, raw, rules, log, today, decided)
        if held is not None and len(held):
            yield _parse_slice(held, raw, rules, log, today, decided)
        if decided.mapping is not None:
            _refuse_other_currencies(log.files[-1], decided.currencies, rules)


def _map_orders(raw: RawTable, rules: Rules) -> ColumnMap:
    require_header(raw)
    return map_columns(
        raw.headers,
        source=raw.source,
        wanted=ORDER_REQUIRED + ORDER_OPTIONAL,
        required=ORDER_REQUIRED,
        mapping=rules.columns,
        profile=rules.profile,
    )


def _canonical(raw: RawTable, mapping: ColumnMap) -> pd.DataFrame:
    """The mapped columns under canonical names, plus row and file."""
    frame = raw.frame.reindex(columns=[*mapping.found.values(), ROW], fill_value="")
    frame = frame.rename(columns=mapping.rename())
    frame[FILE] = pd.Categorical.from_codes(np.zeros(len(frame), np.int8), [raw.source])
    return frame


def _hold_last_order(
    frame: pd.DataFrame, held: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Shopify lines of one order may straddle two slices: keep the last order for the next."""
    if held is not None and len(held):
        frame = pd.concat([held, frame], ignore_index=True)
    if "order_id" not in frame.columns or frame.empty:
        return frame, None
    ids = frame["order_id"].to_numpy()
    tail = len(ids)
    while tail > 0 and ids[tail - 1] == ids[-1]:
        tail -= 1
    return frame.iloc[:tail], frame.iloc[tail:].reset_index(drop=True)


def _fill_line_items(frame: pd.DataFrame) -> pd.DataFrame:
    """Shopify: order fields stand only on an order's first line; copy them down."""
    if "order_id" not in frame.columns:
        return frame
    for column in ("customer_id", "order_date", "status", "currency"):
        if column in frame.columns:
            first = (
                frame[column]
                .where(frame[column] != "")
                .groupby(frame["order_id"])
                .transform("first")
            )
            frame[column] = first.fillna("").astype("str")
    # Later lines carry no amount: the order total is on the first line.
    if "amount" in frame.columns:
        line_no = frame.groupby("order_id").cumcount()
        frame.loc[(line_no > 0) & (frame["amount"] == ""), "amount"] = "0"
    return frame


def _parse_slice(
    frame: pd.DataFrame,
    raw: RawTable,
    rules: Rules,
    log: LoadLog,
    today: dt.date,
    decided: _Decided,
) -> pd.DataFrame:
    mapping = decided.mapping
    if mapping.profile == "shopify":
        frame = _fill_line_items(frame)
    hint = "," if raw.delimiter == ";" or mapping.profile in ("german_excel", "sap") else "."
    source = f"{raw.source}, column '{mapping.found['order_date']}'"
    frame, problems = _parse_orders(frame, rules, log.rejects, today, decided, hint, source)
    log.warnings.extend(problems)
    return frame


def load_orders(
    paths: Sequence[str],
    rules: Rules,
    *,
    today: dt.date | None = None,
    progress: Progress | None = None,
) -> Orders:
    """Read, map, parse and check order files into one frame; see the module docstring."""
    log = LoadLog()
    frames = list(iter_orders(paths, rules, log, today=today, progress=progress))
    orders = combine(frames)
    orders, duplicates = drop_duplicates(orders, log.rejects)
    if duplicates:
        log.warnings.append(duplicates_note(duplicates))
    return Orders(
        frame=orders.reset_index(drop=True),
        rejects=log.rejects.frame(),
        rows_read=log.rows_read,
        files=tuple(log.files),
        profiles=tuple(log.profiles),
        warnings=tuple(log.warnings),
    )


def combine(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Parsed slices (of one or several files) as one frame with every column."""
    if not frames:
        return pd.DataFrame(columns=[*ORDER_REQUIRED, ROW, FILE])
    columns = sorted({c for f in frames for c in f.columns}, key=_column_order)
    if len(frames) == 1:
        orders = frames[0].reset_index(drop=True)
    else:
        orders = pd.concat([f.reindex(columns=columns) for f in frames], ignore_index=True)
    for column in ("order_id", "category", "status"):
        if column in orders.columns:
            orders[column] = orders[column].fillna("").astype("str")
    return orders


def _column_order(name: str) -> int:
    canonical = (*ORDER_REQUIRED, *ORDER_OPTIONAL, ROW, FILE)
    return canonical.index(name) if name in canonical else len(canonical)


def _parse_orders(
    orders: pd.DataFrame,
    rules: Rules,
    rejects: RejectLog,
    today: dt.date,
    decided: _Decided,
    hint: str,
    date_source: str,
) -> tuple[pd.DataFrame, list[str]]:
    warnings: list[str] = []
    ids = orders["customer_id"].astype("str").str.strip()
    no_id = ids == ""
    rejects.add(orders, no_id, "customer_id", ids, "no customer id")
    orders["customer_id"] = ids
    if "order_id" in orders.columns:
        orders["order_id"] = orders["order_id"].astype("str").str.strip()

    dates = parse_dates(
        orders["order_date"],
        date_format=rules.date_format,
        source=date_source,
        day_first=decided.day_first,
    )
    decided.day_first = _slash_order(dates.formats, decided.day_first, date_source)
    bad_date = (dates.problems != "") & ~no_id
    rejects.add(orders, bad_date, "order_date", orders["order_date"], dates.problems)
    limit = pd.Timestamp(today + dt.timedelta(days=FUTURE_GRACE_DAYS))
    future = (dates.values > limit) & ~bad_date & ~no_id
    rejects.add(
        orders,
        future,
        "order_date",
        orders["order_date"],
        f"date lies in the future (after {today.isoformat()})",
    )

    decimal = None if rules.decimal == "auto" else rules.decimal
    amounts = parse_amounts(orders["amount"], decimal=decimal, decimal_hint=decided.decimal or hint)
    decided.decimal = decided.decimal or amounts.decimal
    bad_amount = (amounts.problems != "") & ~no_id & ~bad_date & ~future
    rejects.add(orders, bad_amount, "amount", orders["amount"], amounts.problems)
    keep = ~(no_id | bad_date | future | bad_amount)

    if "cost" in orders.columns:
        costs = parse_amounts(orders["cost"], decimal=decimal or amounts.decimal)
        empty_cost = orders["cost"].astype("str").str.strip() == ""
        bad_cost = (costs.problems != "") & ~empty_cost & keep
        rejects.add(orders, bad_cost, "cost", orders["cost"], costs.problems)
        keep &= ~bad_cost
        orders["cost"] = costs.values
    keep &= ~_check_currency(orders, rules, rejects, keep)
    if "currency" not in orders.columns:
        decided.currencies |= amounts.currencies
    if "status" in orders.columns:
        excluded = (
            orders["status"]
            .astype("str")
            .str.strip()
            .str.casefold()
            .isin([s.casefold() for s in rules.exclude_status])
            & keep
        )
        rejects.add(
            orders,
            excluded,
            "status",
            orders["status"],
            "order status is excluded (exclude_status in the rules)",
        )
        keep &= ~excluded

    orders["order_date"] = dates.values
    orders["amount"] = amounts.values
    for column in ("quantity",):
        if column in orders.columns:
            orders[column] = parse_amounts(
                orders[column], decimal=decimal or amounts.decimal
            ).values
    return (orders if keep.all() else orders.loc[keep]), warnings


def _slash_order(formats: tuple[str, ...], known: bool | None, source: str) -> bool | None:
    """Day-first or not, as slashed dates in this and earlier slices of a file show."""
    seen = {f.startswith("%d/") for f in formats if f[:3] in ("%d/", "%m/")}
    if known is not None and seen - {known}:
        raise AmbiguousDateError(
            f"{source}: slashed dates disagree: earlier rows have the "
            f"{'day' if known else 'month'} first, later rows the "
            f'{"month" if known else "day"} first; set date_format: "%d/%m/%Y" or '
            '"%m/%d/%Y" for this column in the rules YAML'
        )
    return known if known is not None or not seen else seen.pop()


def _check_currency(orders, rules: Rules, rejects: RejectLog, keep) -> pd.Series:
    """Rows in a currency other than the rules' one, where a currency column tells."""
    if "currency" in orders.columns:
        code = orders["currency"].astype("str").str.strip().str.upper()
        other = (code != "") & (code != rules.currency) & keep
        rejects.add(
            orders,
            other,
            "currency",
            orders["currency"],
            f"amount is not in {rules.currency} (currency in the rules)",
        )
        return other
    return pd.Series(False, index=orders.index)


def _refuse_other_currencies(source: str, currencies: set[str], rules: Rules) -> None:
    """Amounts of a file without a currency column must all be in the rules' currency."""
    foreign = sorted(currencies - {rules.currency})
    if foreign:
        raise InputError(
            f"{source}: amounts carry the currencies {', '.join(sorted(currencies))}, "
            f"but the rules say amounts are in {rules.currency}. Fix: add a currency column "
            f"and keep only one currency, or set 'currency: {foreign[0]}' in the rules"
        )
