"""The contact ledger: an SQLite file recording who was contacted in which campaign.

Every run of `winback letters --out` records its campaign (name, date, as-of
date) and one row per drafted customer (status, triggers, segment, reason,
measure, channel, offer code, cost, file) in one transaction. A customer is
recorded once per campaign, so running a campaign again adds nobody twice
and reuses the offer codes it handed out. The frequency cap
(`contact.min_gap`), the code pool and `winback campaigns` read it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from winback_cli.errors import InputError, OutputError

FILE_NAME = "winback.db"
SCHEMA_VERSION = 2  # 2: contacts.control (held out as a control group, no draft)
SCHEMA = """
CREATE TABLE IF NOT EXISTS campaigns (
    name TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    as_of TEXT NOT NULL,
    rules TEXT NOT NULL DEFAULT '',
    out_dir TEXT NOT NULL DEFAULT '',
    format TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS contacts (
    campaign TEXT NOT NULL REFERENCES campaigns(name),
    customer_id TEXT NOT NULL,
    contact_date TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT '',
    triggers TEXT NOT NULL DEFAULT '',
    segment TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    measure TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL DEFAULT '',
    offer TEXT NOT NULL DEFAULT '',
    offer_code TEXT NOT NULL DEFAULT '',
    cost REAL NOT NULL DEFAULT 0,
    file TEXT NOT NULL DEFAULT '',
    control INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign, customer_id)
);
CREATE INDEX IF NOT EXISTS contacts_by_customer ON contacts (customer_id, contact_date);
CREATE UNIQUE INDEX IF NOT EXISTS contacts_by_code ON contacts (offer_code)
    WHERE offer_code <> '';
"""
CONTACT_FIELDS = (
    "customer_id",
    "status",
    "triggers",
    "segment",
    "reason",
    "measure",
    "channel",
    "offer",
    "offer_code",
    "cost",
    "file",
    "control",
)


@dataclass(frozen=True)
class Campaign:
    """One run of `winback letters` as the ledger records it."""

    name: str
    contact_date: dt.date
    as_of: dt.date
    rules: str = ""
    out_dir: str = ""
    format: str = ""


def default_ledger_path(rules_source: str) -> Path:
    """`winback.db` beside the rules file, or in the current folder for bundled rules."""
    rules = Path(rules_source)
    if rules_source and rules.is_file():
        return rules.parent / FILE_NAME
    return Path(FILE_NAME)


@contextlib.contextmanager
def _connect(path: Path, *, create: bool) -> Iterator[sqlite3.Connection]:
    if not create and not path.exists():
        raise InputError(f"{path}: no ledger here yet; `winback letters --out DIR` creates it")
    try:
        connection = sqlite3.connect(path, isolation_level=None)
    except sqlite3.Error as exc:
        raise OutputError(f"{path}: cannot open the ledger ({exc})") from None
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise InputError(f"{path}: ledger written by a newer winback; update winback")
        if create or version:
            connection.executescript(SCHEMA)
            _migrate(connection)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        yield connection
    except sqlite3.DatabaseError as exc:
        raise InputError(f"{path}: not a winback ledger ({exc}); choose another --ledger") from None
    finally:
        connection.close()


def _migrate(connection: sqlite3.Connection) -> None:
    """Bring a ledger of an older winback up to date; version 1 lacks `control`."""
    columns = {row[1] for row in connection.execute("PRAGMA table_info(contacts)")}
    if "control" not in columns:
        connection.execute("ALTER TABLE contacts ADD COLUMN control INTEGER NOT NULL DEFAULT 0")


def _query(path: Path, sql: str, params: tuple = ()) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame()
    with _connect(path, create=False) as connection:
        if connection.execute("PRAGMA user_version").fetchone()[0] == 0:
            return pd.DataFrame()
        cursor = connection.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return pd.DataFrame(cursor.fetchall(), columns=names)


def last_contacts(path: Path, exclude_campaign: str | None = None) -> pd.DataFrame:
    """Per customer id: the date and campaign of the latest recorded contact."""
    frame = _query(
        path,
        "SELECT customer_id, contact_date AS date, campaign FROM contacts "
        "WHERE campaign <> ? AND control = 0 ORDER BY contact_date, campaign",
        (exclude_campaign or "",),
    )
    if frame.empty:
        return pd.DataFrame({"date": [], "campaign": []}, index=pd.Index([], name="customer_id"))
    frame["date"] = pd.to_datetime(frame["date"])
    return frame.drop_duplicates("customer_id", keep="last").set_index("customer_id")


def campaign_codes(path: Path, campaign: str) -> dict[str, str]:
    """Offer codes a campaign already handed out, by customer id."""
    frame = _query(
        path,
        "SELECT customer_id, offer_code FROM contacts WHERE campaign = ? AND offer_code <> ''",
        (campaign,),
    )
    return dict(zip(frame.get("customer_id", []), frame.get("offer_code", []), strict=True))


def find_code(path: Path, code: str) -> dict[str, str] | None:
    """The campaign, customer and date an offer code was handed out with, or None."""
    frame = _query(
        path,
        "SELECT campaign, customer_id, contact_date FROM contacts WHERE UPPER(offer_code) = ?",
        (code.strip().upper(),),
    )
    return None if frame.empty else {k: str(v) for k, v in frame.iloc[0].items()}


def used_codes(path: Path) -> set[str]:
    """Every offer code any campaign has handed out."""
    frame = _query(path, "SELECT offer_code FROM contacts WHERE offer_code <> ''")
    return set(frame.get("offer_code", []))


@contextlib.contextmanager
def recording(path: Path, campaign: Campaign, contacts: pd.DataFrame) -> Iterator[int]:
    """Record a campaign in one transaction; yields how many customers are new to it.

    The transaction commits when the block ends cleanly (the drafts were
    written) and rolls back if it raises, so the ledger never lists a draft
    that was not written.
    """
    with _connect(path, create=True) as connection:
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.execute(
                "INSERT OR IGNORE INTO campaigns (name, created_at, as_of, rules, out_dir, format) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    campaign.name,
                    campaign.contact_date.isoformat(),
                    campaign.as_of.isoformat(),
                    campaign.rules,
                    campaign.out_dir,
                    campaign.format,
                ),
            )
            before = connection.total_changes
            rows = contacts.reindex(columns=CONTACT_FIELDS)
            rows["control"] = rows["control"].fillna(0).astype(int)  # 1 = held out, no draft
            rows = rows.fillna("")
            # Only a customer already in this campaign is skipped; a code handed out
            # before (unique index) is an error, not a silent skip as OR IGNORE would be.
            connection.executemany(
                "INSERT INTO contacts (campaign, contact_date, "
                + ", ".join(CONTACT_FIELDS)
                + ") VALUES (?, ?, "
                + ", ".join("?" * len(CONTACT_FIELDS))
                + ") ON CONFLICT (campaign, customer_id) DO NOTHING",
                [
                    (campaign.name, campaign.contact_date.isoformat(), *_plain(row))
                    for row in rows.itertuples(index=False)
                ],
            )
            yield connection.total_changes - before
        except sqlite3.IntegrityError as exc:
            connection.execute("ROLLBACK")
            raise OutputError(f"{path}: the ledger refused the campaign ({exc})") from None
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")


def _plain(row: tuple) -> tuple:
    """Values SQLite stores: text, or float for the cost."""
    return tuple(
        v if isinstance(v, float | int) and not isinstance(v, bool) else str(v) for v in row
    )


def list_campaigns(path: Path) -> pd.DataFrame:
    """One row per campaign, newest first: date, as-of, customers, codes, cost, channels.

    Customers held out as a control group are not counted: they were not contacted.
    """
    frame = _query(
        path,
        """
        SELECT c.name AS campaign, c.created_at AS date, c.as_of,
               COALESCE(SUM(CASE WHEN k.control = 0 THEN 1 ELSE 0 END), 0) AS customers,
               SUM(CASE WHEN k.offer_code <> '' THEN 1 ELSE 0 END) AS offer_codes,
               COALESCE(SUM(k.cost), 0.0) AS cost,
               COALESCE((SELECT GROUP_CONCAT(channel || ' ' || n, ', ') FROM (
                   SELECT channel, COUNT(*) AS n FROM contacts
                   WHERE campaign = c.name AND control = 0 GROUP BY channel ORDER BY n DESC, channel
               )), '') AS channels
        FROM campaigns c LEFT JOIN contacts k ON k.campaign = c.name
        GROUP BY c.name ORDER BY c.created_at DESC, c.name
        """,
    )
    if frame.empty:
        return pd.DataFrame(
            {
                "campaign": pd.Series(dtype="str"),
                "date": pd.Series(dtype="str"),
                "as_of": pd.Series(dtype="str"),
                "customers": pd.Series(dtype="int64"),
                "offer_codes": pd.Series(dtype="int64"),
                "cost": pd.Series(dtype="float64"),
                "channels": pd.Series(dtype="str"),
            }
        )
    for column in ("customers", "offer_codes"):
        frame[column] = frame[column].fillna(0).astype("int64")
    frame["cost"] = frame["cost"].astype(float)
    return frame


def read_campaign(path: Path, name: str) -> tuple[dict[str, str], pd.DataFrame] | None:
    """A campaign's record and its rows (contacted and control), or None if unknown."""
    if not Path(path).is_file():
        raise InputError(
            f"{path}: no ledger here; `winback letters … --out DIR` creates it, "
            "or name one with --ledger PATH"
        )
    head = _query(
        path, "SELECT name, created_at, as_of, rules FROM campaigns WHERE name = ?", (name,)
    )
    if head.empty:
        return None
    rows = _query(
        path,
        "SELECT customer_id, contact_date, "
        + ", ".join(f for f in CONTACT_FIELDS if f != "customer_id")
        + " FROM contacts WHERE campaign = ? ORDER BY customer_id",
        (name,),
    )
    rows = rows.reindex(columns=["customer_id", "contact_date", *CONTACT_FIELDS[1:]])
    rows["control"] = rows["control"].fillna(0).astype(int).astype(bool)
    rows["cost"] = rows["cost"].astype(float)
    return {k: str(v) for k, v in head.iloc[0].items()}, rows


def campaign_names(path: Path) -> list[str]:
    """Every campaign name in the ledger, newest first (for error messages)."""
    frame = _query(path, "SELECT name FROM campaigns ORDER BY created_at DESC, name")
    return [str(n) for n in frame.get("name", [])]
