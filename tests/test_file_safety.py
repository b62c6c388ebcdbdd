"""Files winback writes: never clobbered without --force, never half-written, never elsewhere.

An output that exists is refused (all targets are checked before any work),
`--force` replaces it, and a run killed with SIGKILL in the middle of writing
leaves the old file (or no file) or the complete new one — never a truncated
mix. The kill tests run the real command in a subprocess on a generated export
large enough that the write takes a while, and kill it once the write has
begun. Letter drafts are named from customer ids, which may hold `../../x`:
every file stays in `--out`. A campaign killed while its drafts are written
leaves the ledger without it (one transaction), and the ledger still works.
"""

from __future__ import annotations

import csv
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import winback_cli
from winback_cli.cli import app

ORDERS = (
    "order_id,customer_id,order_date,amount\n"
    "1,C1,2025-01-10,100.00\n2,C2,2025-02-10,200.00\n3,C1,2025-03-10,\n"
)
OLD = b"old content, must survive\n"
SRC = str(Path(winback_cli.__file__).resolve().parent.parent)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "orders.csv").write_text(ORDERS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def winback(*args: str):
    return CliRunner().invoke(app, list(args))


def flat(text: str) -> str:
    return " ".join(text.split())


def temp_files(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp"))


# --- no overwrite without --force -------------------------------------------------------


@pytest.mark.parametrize("target", ["out.csv", "out.xlsx", "out.json"])
def test_an_existing_output_is_refused_and_left_alone(folder: Path, target: str):
    (folder / target).write_bytes(OLD)
    result = winback("scan", "orders.csv", "-o", target)
    assert result.exit_code == 1
    assert f"Error: {target} already exists; use --force to overwrite it" in flat(result.stderr)
    assert (folder / target).read_bytes() == OLD
    assert temp_files(folder) == []


def test_an_existing_rejects_file_stops_the_run_before_any_output(folder: Path):
    (folder / "rejects.csv").write_bytes(OLD)
    result = winback("scan", "orders.csv", "-o", "out.csv", "--rejects", "rejects.csv")
    assert result.exit_code == 1
    assert "Error: rejects.csv already exists; use --force" in flat(result.stderr)
    assert not (folder / "out.csv").exists()  # checked before any work, nothing written
    assert (folder / "rejects.csv").read_bytes() == OLD


def test_every_target_in_the_way_is_named_in_one_error(folder: Path):
    (folder / "out.csv").write_bytes(OLD)
    (folder / "rejects.csv").write_bytes(OLD)
    result = winback("scan", "orders.csv", "-o", "out.csv", "--rejects", "rejects.csv")
    stderr = flat(result.stderr)
    assert result.exit_code == 1
    assert "Error: 2 output files cannot be written:" in stderr
    assert "- out.csv already exists" in stderr
    assert "- rejects.csv already exists" in stderr


def test_force_replaces_the_output_with_the_complete_result(folder: Path):
    (folder / "out.csv").write_bytes(OLD)
    result = winback("scan", "orders.csv", "-o", "out.csv", "--status", "all", "--force")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader((folder / "out.csv").open(encoding="utf-8")))
    assert sorted(row["customer_id"] for row in rows) == ["C1", "C2"]
    assert temp_files(folder) == []


def test_one_file_named_for_output_and_rejects_is_refused(folder: Path):
    result = winback("scan", "orders.csv", "-o", "same.csv", "--rejects", "same.csv")
    assert result.exit_code == 1
    assert "same.csv is named twice; give each output its own file name" in flat(result.stderr)
    assert not (folder / "same.csv").exists()


def test_output_into_a_missing_folder_says_how_to_create_it(folder: Path):
    result = winback("scan", "orders.csv", "-o", "reports/out.csv")
    assert result.exit_code == 1
    assert "the folder reports does not exist; create it first (mkdir -p reports)" in flat(
        result.stderr
    )


def test_output_that_is_a_folder_is_refused(folder: Path):
    (folder / "reports").mkdir()
    result = winback("scan", "orders.csv", "-o", "reports", "--force")
    assert result.exit_code == 1
    assert "reports is a folder, not a file" in flat(result.stderr)


def test_a_failed_run_writes_no_output_and_leaves_no_temp_file(folder: Path):
    result = winback("scan", "orders.csv", "-o", "out.csv", "--strict")
    assert result.exit_code == 1
    assert "--strict: 1 row(s) could not be used" in flat(result.stderr)
    assert not (folder / "out.csv").exists()
    assert temp_files(folder) == []


# --- kill -9 in the middle of a write ---------------------------------------------------

CUSTOMERS = 60_000


def big_export(path: Path, customers: int = CUSTOMERS) -> None:
    """One order per customer, so the result has that many rows and takes a while to write."""
    lines = ["order_id,customer_id,order_date,amount"]
    lines += [
        f"{i},C{i:06d},2025-{i % 12 + 1:02d}-{i % 28 + 1:02d},{i % 997}.50"
        for i in range(customers)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def kill_while_writing(folder: Path, target: str, *extra: str, min_size: int = 1) -> int:
    """Run the scan, SIGKILL it once its temp file for `target` has `min_size` bytes; the exit code.

    A CSV is written into the temp file in one go; an XLSX is built while its temp
    file is open and zipped into it at the end, so any temp file at all means mid-write.
    """
    command = [sys.executable, "-m", "winback_cli", "scan", "big.csv", "--status", "all"]
    process = subprocess.Popen(
        [*command, "-o", target, *extra],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": SRC},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while process.poll() is None:
            for name in os.listdir(folder):
                if name.startswith(f".{target}.") and name.endswith(".tmp"):
                    try:
                        written = (folder / name).stat().st_size
                    except FileNotFoundError:
                        continue  # renamed into place just now
                    if written >= min_size:
                        process.send_signal(signal.SIGKILL)
            time.sleep(0.0005)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=60)
    return process.returncode


def assert_complete_csv(path: Path) -> None:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == CUSTOMERS + 1
    assert len({len(row) for row in rows}) == 1  # no half row at the end


@pytest.mark.slow
@pytest.mark.parametrize("old", [True, False], ids=["replacing", "new"])
def test_a_kill_mid_write_leaves_the_old_file_or_none_never_a_truncated_one(
    tmp_path: Path, old: bool
):
    big_export(tmp_path / "big.csv")
    target = tmp_path / "out.csv"
    if old:
        target.write_bytes(OLD)
    code = kill_while_writing(tmp_path, "out.csv", *(["--force"] if old else []))
    assert code == -signal.SIGKILL, "the run ended before its temp file had data"
    if not target.exists():
        assert not old
    elif target.read_bytes() != OLD:
        assert_complete_csv(target)  # killed just after the rename: the whole new file
    # A stray temp file may remain after kill -9; it is hidden and never the target.
    assert all(name.startswith(".out.csv.") for name in temp_files(tmp_path))


@pytest.mark.slow
def test_a_kill_mid_xlsx_write_leaves_the_old_workbook(tmp_path: Path):
    big_export(tmp_path / "big.csv", customers=5_000)
    target = tmp_path / "out.xlsx"
    target.write_bytes(OLD)
    code = kill_while_writing(tmp_path, "out.xlsx", "--force", min_size=0)
    assert code == -signal.SIGKILL, "the run ended before it started writing the workbook"
    assert target.read_bytes() == OLD


# --- letters: names from data, and the ledger under kill -9 -----------------------------

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SECRET = {"WINBACK_CODE_SECRET": "a-test-secret-of-enough-length"}
# Customer ids of the example exports that get a draft, renamed to ids that try to escape.
HOSTILE_IDS = {
    "K00020": "../../x",
    "K00023": "a/../../y",
    "K00026": "..",
    "K00027": "..\\..\\win",
    "K00030": "CON",
    "K00031": "~/z",
    "K00032": ".hidden",
}


def neighbours(folder: Path) -> list[str]:
    """What lies next to the test's folder and one level up (where ../../x would land)."""
    return sorted(
        str(path) for base in (folder.parent, folder.parent.parent) for path in base.iterdir()
    )


def test_customer_ids_cannot_leave_the_drafts_folder(tmp_path: Path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    for name in ("orders_en.csv", "customers_en.csv"):
        text = (EXAMPLES / name).read_text(encoding="utf-8")
        for original, hostile in HOSTILE_IDS.items():
            text = text.replace(original, hostile)
        text = text.replace("Hotel Bergblick AG", "../../etc/passwd")
        (work / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(work)
    for key, value in SECRET.items():
        monkeypatch.setenv(key, value)
    before = neighbours(tmp_path)
    args = [
        "letters",
        "orders_en.csv",
        "-c",
        "customers_en.csv",
        "-r",
        str(EXAMPLES / "rules.yaml"),
    ]
    result = winback(*args, "--out", "drafts", "--ledger", "ledger.db", "--campaign", "c1")
    assert result.exit_code == 0, result.stderr

    drafts = work / "drafts"
    names = sorted(p.name for p in drafts.iterdir())
    assert all((drafts / name).is_file() for name in names)  # no sub-folders
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+\.md|manifest\.csv|codes\.csv", n) for n in names)
    assert neighbours(tmp_path) == before  # nothing appeared next to the test folder
    assert sorted(p.name for p in work.iterdir()) == [
        "customers_en.csv",
        "drafts",
        "ledger.db",
        "orders_en.csv",
    ]
    with (drafts / "manifest.csv").open(encoding="utf-8-sig", newline="") as handle:
        files = {row["customer_id"]: row["file"] for row in csv.DictReader(handle)}
    drafted = [hostile for hostile in HOSTILE_IDS.values() if hostile in files]
    assert len(drafted) >= 5  # the renamed customers really got drafts
    for hostile in drafted:
        assert (drafts / files[hostile]).is_file()
        assert "/" not in files[hostile]
        assert "\\" not in files[hostile]
        assert not files[hostile].startswith(".")


LETTER_CUSTOMERS = 600


def letters_export(folder: Path) -> None:
    """LETTER_CUSTOMERS customers, all churned and worth a letter, so the run writes many drafts."""
    orders = ["order_id,customer_id,order_date,amount"]
    number = 0
    for i in range(LETTER_CUSTOMERS):
        for month in (1, 2, 3):
            number += 1
            orders.append(f"{number},C{i:05d},2024-{month:02d}-{i % 28 + 1:02d},{400 + i % 300}.00")
    orders.append(f"{number + 1},C99999,2025-10-31,10.00")
    customers = ["customer_id,company,email,language"]
    customers += [f"C{i:05d},Firma {i} GmbH,c{i}@example.com,en" for i in range(LETTER_CUSTOMERS)]
    (folder / "orders.csv").write_text("\n".join(orders) + "\n", encoding="utf-8")
    (folder / "customers.csv").write_text("\n".join(customers) + "\n", encoding="utf-8")


def recorded(ledger: Path, campaign: str) -> tuple[int, int]:
    """(campaign rows, contact rows) for `campaign`; (0, 0) when the ledger has no tables yet."""
    with sqlite3.connect(ledger) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        if "campaigns" not in tables:
            return 0, 0
        campaigns = connection.execute(
            "SELECT count(*) FROM campaigns WHERE name = ?", (campaign,)
        ).fetchone()[0]
        contacts = connection.execute(
            "SELECT count(*) FROM contacts WHERE campaign = ?", (campaign,)
        ).fetchone()[0]
    return campaigns, contacts


@pytest.mark.slow
def test_a_kill_mid_campaign_records_all_of_it_or_nothing(tmp_path: Path):
    letters_export(tmp_path)
    command = [sys.executable, "-m", "winback_cli", "letters", "orders.csv", "-c", "customers.csv"]
    command += ["--out", "drafts", "--ledger", "ledger.db", "--campaign", "big"]
    env = {**os.environ, **SECRET, "PYTHONPATH": SRC}
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    drafts = tmp_path / "drafts"
    try:
        while process.poll() is None:
            if drafts.is_dir() and len(os.listdir(drafts)) >= 20:
                process.send_signal(signal.SIGKILL)
            time.sleep(0.002)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the campaign finished before the kill"
    assert len(os.listdir(drafts)) < LETTER_CUSTOMERS  # really killed half-way through
    assert (tmp_path / "ledger.db").exists()
    assert recorded(tmp_path / "ledger.db", "big") == (0, 0)  # rolled back, not half there

    # The ledger is still usable: the same campaign runs again and is recorded whole.
    rerun = subprocess.run(
        [*command, "--force"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr
    assert recorded(tmp_path / "ledger.db", "big") == (1, LETTER_CUSTOMERS)
    assert len(list(drafts.glob("*.md"))) == LETTER_CUSTOMERS
