"""Time `winback scan` on synthetic exports and compare it with a DuckDB reference.

For each size the export is generated once into bench/data/ (reused while seed, size and
generator are unchanged), then `python -m winback_cli scan FILE --format csv -o OUT --force`
runs as a child process; its wall time and peak RSS (the kernel's high-water mark of the
child and everything it waited for) are recorded. The same three default triggers written
in SQL (duckdb_reference.sql) run the same way in a fresh child, so the two figures compare
like with like. winback then runs a second time with bench/rules_duckdb_work.yaml, which
asks for only the reference's three triggers and no lifetime-value model, so the figures
show both the default scan and the same work as the reference; its trigger counts are
printed next to DuckDB's. `winback --help` start-up time is the median of 5 runs.

    python bench/bench_scan.py --sizes 1m,10m
    python bench/bench_scan.py --sizes 10m --repeat 3   # medians, the ratio paired per round
    python bench/bench_scan.py --smoke          # 20,000 orders, a few seconds, for CI
    python bench/bench_scan.py --sizes 10m --style de   # winback reads a German Excel export
    python bench/bench_scan.py --sizes 10m --repeat 3 --split   # what writing the table costs

With `--style de` winback reads the same orders written as a German Excel export (`;`,
decimal commas, thousands dots, DD.MM.YYYY); DuckDB, which cannot read thousands dots,
keeps reading the `en` file, so it does the same work on the same orders.

With `--split` both winback scans also run with `--top 1`: the whole scan, every customer
checked, scored and ranked, but only the first row written. DuckDB writes four columns; the
scan's table has over forty (about 220 MB for 10m), so these rows show what the rest costs.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
DATA = BENCH / "data"
SQL_FILE = BENCH / "duckdb_reference.sql"
SAME_WORK_RULES = BENCH / "rules_duckdb_work.yaml"
STARTUP_TARGET_S = 0.3  # `winback --help`, from the speed issue
SAME_WORK_TRIGGERS = {
    "no_order_6m": "inactive",
    "revenue_halved": "revenue_drop",
    "stopped_category": "category_lapse",
}
GENERATOR = BENCH / "generate_orders.py"
SEED = 1
SMOKE_SIZE = "20k"
# The winback rows of a round; the `-top1` ones only with --split.
WINBACK_TOOLS = ("winback", "winback-same-work", "winback-top1", "winback-same-work-top1")


@dataclass(frozen=True)
class Run:
    """One measured child process."""

    wall_s: float
    peak_rss_mb: float | None
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False


def parse_size(text: str) -> int:
    """`20k` -> 20000, `1m` -> 1000000, `2.5m` -> 2500000, `5000` -> 5000."""
    text = text.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    number = text[:-1] if factor > 1 else text
    return round(float(number) * factor)


def child_env() -> dict[str, str]:
    """Environment for children: the repo's src/ on the path if winback is not installed."""
    env = dict(os.environ, NO_COLOR="1", PYTHONUNBUFFERED="1")
    if importlib.util.find_spec("winback_cli") is None:
        src = str(BENCH.parent / "src")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    return env


def measure(cmd: list[str], timeout_s: float, env: dict[str, str] | None = None) -> Run:
    """Run `cmd`, returning wall time, peak RSS of it and its children, exit code and output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env or child_env())
        running, fired = threading.Event(), threading.Event()
        running.set()
        timer = threading.Timer(timeout_s, _kill, (proc, running, fired))
        timer.start()
        try:
            if hasattr(os, "wait4"):
                # The rusage of exactly this child (and its reaped descendants): exact peak.
                _, status, usage = os.wait4(proc.pid, 0)
                running.clear()
                wall = time.perf_counter() - t0
                proc.returncode = os.waitstatus_to_exitcode(status)
                scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
                peak = usage.ru_maxrss * scale / 1e6
            else:
                peak = _poll_peak_rss(proc)
                wall = time.perf_counter() - t0
        finally:
            timer.cancel()
        out.seek(0)
        err.seek(0)
        text = (out.read().decode(errors="replace"), err.read().decode(errors="replace"))
    return Run(wall, peak, proc.returncode, *text, timed_out=fired.is_set())


def _kill(proc: subprocess.Popen, running: threading.Event, fired: threading.Event) -> None:
    # os.kill, not proc.kill: Popen.kill would poll and so reap the child before wait4 can.
    if not running.is_set():
        return
    fired.set()
    if hasattr(os, "wait4"):
        os.kill(proc.pid, signal.SIGKILL)
    else:
        proc.kill()


def _poll_peak_rss(proc: subprocess.Popen) -> float | None:
    """Fallback without wait4: poll RSS of the child tree every 20 ms with psutil."""
    try:
        import psutil
    except ImportError:
        proc.wait()
        return None
    peak = 0
    parent = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            tree = [parent, *parent.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree))
        except psutil.Error:
            pass
        time.sleep(0.02)
    return peak / 1e6


def parse_label(label: str) -> tuple[int, int | None]:
    """`10m` -> (10000000, None); `100m:500k` -> 100 million orders of 500,000 customers."""
    orders, _, customers = label.partition(":")
    return parse_size(orders), parse_size(customers) if customers else None


def ensure_data(label: str, style: str = "en") -> tuple[Path, dict]:
    """Generate `orders_<label>_seed<N>[_de].csv` unless a file from the same generator exists."""
    orders, customers = parse_label(label)
    name = label.replace(":", "_c")
    path = DATA / f"orders_{name}_seed{SEED}{'' if style == 'en' else '_' + style}.csv"
    meta_path = path.with_suffix(".json")
    digest = hashlib.sha256(GENERATOR.read_bytes()).hexdigest()[:16]
    want = {"orders": orders, "seed": SEED, "generator": digest}
    if customers:
        want["customers"] = customers
    if style != "en":  # the en files' records stay as they were, so they are still reused
        want["style"] = style
    if path.exists() and meta_path.exists() and json.loads(meta_path.read_text()) == want:
        return path, want
    print(f"generating {path.name} ...", file=sys.stderr)
    cmd = [sys.executable, str(GENERATOR), "--orders", str(orders), "--seed", str(SEED)]
    if customers:
        cmd += ["--customers", str(customers)]
    if style != "en":
        cmd += ["--style", style]
    subprocess.run([*cmd, "--out", str(path)], check=True)
    meta_path.write_text(json.dumps(want))
    return path, want


def run_scan(
    csv: Path, out: Path, timeout_s: float, rules: Path | None = None, top: int | None = None
) -> Run:
    cmd = [sys.executable, "-m", "winback_cli", "scan", str(csv), "--format", "csv"]
    if rules is not None:
        cmd += ["--rules", str(rules)]
    if top is not None:
        cmd += ["--top", str(top)]
    return measure([*cmd, "-o", str(out), "--force"], timeout_s)


def trigger_counts(out: Path) -> dict[str, int]:
    """Customers per reference trigger in a winback output CSV, named as DuckDB names them."""
    import csv

    counts = dict.fromkeys(SAME_WORK_TRIGGERS.values(), 0)
    with out.open(newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            for fired in filter(None, record["triggers"].split("; ")):
                if fired in SAME_WORK_TRIGGERS:
                    counts[SAME_WORK_TRIGGERS[fired]] += 1
    return counts


def run_duckdb(csv: Path, out: Path, timeout_s: float) -> Run:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--duckdb-worker", str(csv), str(out)]
    return measure(cmd, timeout_s)


def duckdb_worker(csv: str, out: str) -> None:
    """Child process: run the reference SQL, print the flag counts as JSON on stdout."""
    import duckdb

    def quoted(path: str) -> str:
        return "'" + path.replace("'", "''") + "'"

    sql = SQL_FILE.read_text(encoding="utf-8")
    sql = sql.replace("'ORDERS_CSV'", quoted(csv)).replace("'OUT_CSV'", quoted(out))
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")  # keep stdout to the JSON line
    counts = con.execute(sql).fetchone()
    names = ["customers", "inactive", "revenue_drop", "category_lapse", "as_of"]
    print(json.dumps(dict(zip(names, counts, strict=True))))


def startup_time(runs: int = 5) -> tuple[float, int]:
    """Median wall time of `python -m winback_cli --help`, and the last exit code."""
    times, code = [], 0
    for _ in range(runs):
        run = measure([sys.executable, "-m", "winback_cli", "--help"], 60)
        times.append(run.wall_s)
        code = run.returncode
    return statistics.median(times), code


def startup_verdict(median_s: float, returncode: int) -> str:
    """What the start-up figure means against the target.

    >>> startup_verdict(0.31, 0)
    'above the target of 0.3 s'
    """
    if returncode:
        return f"FAILED (exit {returncode})"
    side = "within" if median_s < STARTUP_TARGET_S else "above"
    return f"{side} the target of {STARTUP_TARGET_S} s"


def tail(text: str, lines: int = 15) -> str:
    return "\n".join("    " + line for line in text.rstrip().splitlines()[-lines:])


def row(label: str, tool: str, rows: int, mb: float, run: Run | None) -> list[str]:
    if run is None or run.returncode != 0:
        status = "skipped" if run is None else f"FAILED (exit {run.returncode})"
        status = "TIMED OUT" if run is not None and run.timed_out else status
        return [label, tool, f"{rows:,}", f"{mb:,.1f}", status, "", ""]
    rss = "n/a" if run.peak_rss_mb is None else f"{run.peak_rss_mb:,.0f}"
    speed = f"{rows / run.wall_s:,.0f}"
    return [label, tool, f"{rows:,}", f"{mb:,.1f}", f"{run.wall_s:.2f}", rss, speed]


def print_table(rows: list[list[str]]) -> None:
    head = ["size", "tool", "rows", "file MB", "wall s", "peak RSS MB", "rows/s"]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, ["-" * w for w in widths], *rows]:
        print(
            "  ".join(
                c.rjust(w) if i > 1 else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )


def versions(names: tuple[str, ...] = ("pandas", "pyarrow", "numpy", "duckdb")) -> str:
    """The installed versions of the libraries the figures depend on, for the record.

    DuckDB's own speed changes between releases (in three alternating pairs, 2.0.0
    ran the 10m reference in 6.5-6.9 s and 1.5.6 in 7.4-7.8 s), so a ratio means
    little without it.

    >>> versions(("no-such-package-here",))
    'no-such-package-here not installed'
    """
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} not installed")
    return ", ".join(found)


def has_duckdb() -> bool:
    return importlib.util.find_spec("duckdb") is not None


def bench_size(
    label: str, work: Path, args: argparse.Namespace
) -> tuple[list[list[str]], list[str], bool]:
    """Generate, then scan and run DuckDB on one size `args.repeat` times in turn.

    Returns the table rows, the notes and whether every run succeeded.
    """
    style = getattr(args, "style", "en")
    csv, meta = ensure_data(label, style)
    # DuckDB reads the en file of the same orders: it cannot read thousands dots.
    reference = csv if style == "en" else ensure_data(label)[0]
    label = label if style == "en" else f"{label}-{style}"
    rows, mb = meta["orders"], csv.stat().st_size / 1e6
    table, notes, ok = [], [], True
    walls: dict[str, list[float]] = {}  # per tool, its successful runs
    ratios: dict[str, list[float]] = {}  # per winback tool, its time / DuckDB's of that round
    for turn in range(1, args.repeat + 1):
        name = label if turn == 1 else f"{label} #{turn}"
        runs = run_round(name, csv, work, args, reference)
        table += [row(name, tool, rows, mb, run) for tool, run in runs.items() if run]
        ok &= all(run.returncode == 0 for run in runs.values() if run)
        if turn == 1:
            notes += flag_notes(label, runs, work)
        notes += ratio_notes(name, runs)
        for tool, run in runs.items():
            if run is not None and run.returncode == 0:
                walls.setdefault(tool, []).append(run.wall_s)
        duck = runs["duckdb"]
        for tool in (t for t in WINBACK_TOOLS if t in runs):
            if duck is not None and duck.returncode == 0 and runs[tool].returncode == 0:
                ratios.setdefault(tool, []).append(runs[tool].wall_s / duck.wall_s)
    if args.repeat > 1:
        notes += summary_notes(label, walls, ratios)
    return table, notes, ok


def run_round(
    name: str, csv: Path, work: Path, args: argparse.Namespace, reference: Path | None = None
) -> dict[str, Run | None]:
    """winback, winback on the reference's work, and DuckDB (None if skipped), one after another;
    with `args.split` both scans again with `--top 1` before DuckDB.

    DuckDB reads `reference` (the same orders as `csv`, in the `en` style), else `csv`.
    """
    say(f"[{name}] winback scan {csv.name} ...")
    scan = run_scan(csv, work / f"{_stem(name)}_winback.csv", args.timeout)
    if scan.returncode != 0:
        say(f"[{name}] winback scan FAILED (exit {scan.returncode}); stderr tail:")
        say(tail(scan.stderr))
    else:
        say(f"[{name}] winback summary:\n{tail(scan.stderr)}")
    say(f"[{name}] winback scan, only the reference's work ...")
    same = run_scan(csv, _same_work_out(work, name), args.timeout, rules=SAME_WORK_RULES)
    if same.returncode != 0:
        say(f"[{name}] same-work scan FAILED; stderr tail:\n{tail(same.stderr)}")
    runs: dict[str, Run | None] = {"winback": scan, "winback-same-work": same}
    if getattr(args, "split", False):
        runs.update(_top_one_runs(name, csv, work, args))
    runs["duckdb"] = None
    if args.no_duckdb or not has_duckdb():
        why = "--no-duckdb" if args.no_duckdb else "duckdb is not installed (pip install duckdb)"
        say(f"[{name}] DuckDB reference skipped: {why}")
        return runs
    say(f"[{name}] DuckDB reference ...")
    duck = run_duckdb(reference or csv, work / f"{_stem(name)}_duckdb.csv", args.timeout)
    if duck.returncode != 0:
        say(f"[{name}] DuckDB FAILED; stderr tail:\n{tail(duck.stderr)}")
    runs["duckdb"] = duck
    return runs


def _top_one_runs(name: str, csv: Path, work: Path, args: argparse.Namespace) -> dict[str, Run]:
    """Both scans again with `--top 1`: all the work, but one row written instead of the table."""
    runs = {}
    for tool, rules in (("winback-top1", None), ("winback-same-work-top1", SAME_WORK_RULES)):
        say(f"[{name}] {tool}: the same scan, one row written ...")
        out = work / f"{_stem(name)}_{tool.replace('-', '_')}.csv"
        run = run_scan(csv, out, args.timeout, rules=rules, top=1)
        if run.returncode != 0:
            say(f"[{name}] {tool} FAILED; stderr tail:\n{tail(run.stderr)}")
        runs[tool] = run
    return runs


def say(text: str) -> None:
    """Progress for the person running the benchmark (stderr; the figures go to stdout)."""
    print(text, file=sys.stderr)


def _same_work_out(work: Path, name: str) -> Path:
    return work / f"{_stem(name)}_winback_same_work.csv"


def _stem(name: str) -> str:
    """A round's name as the start of its output files: `10m #2` -> `10m-run2`."""
    return name.replace(" #", "-run")


def flag_notes(label: str, runs: dict[str, Run | None], work: Path) -> list[str]:
    """DuckDB's trigger counts and the same-work scan's, to compare side by side."""
    duck, same = runs["duckdb"], runs["winback-same-work"]
    if duck is None or duck.returncode != 0:
        return []
    counts = json.loads(duck.stdout.strip().splitlines()[-1])
    as_of = counts.pop("as_of")
    flagged = ", ".join(f"{k} {v:,}" for k, v in counts.items())
    notes = [f"{label}: DuckDB flags as of {as_of}: {flagged}"]
    if same.returncode == 0:
        mine = trigger_counts(_same_work_out(work, label))
        notes.append(
            f"{label}: winback flags (customers with an order): "
            + ", ".join(f"{k} {v:,}" for k, v in mine.items())
        )
    return notes


def ratio_notes(name: str, runs: dict[str, Run | None]) -> list[str]:
    """winback/DuckDB wall time and peak memory of one round."""
    duck, notes = runs["duckdb"], []
    if duck is None or duck.returncode != 0:
        return notes
    for tool in (t for t in WINBACK_TOOLS if t in runs):
        run = runs[tool]
        if run.returncode == 0 and run.peak_rss_mb and duck.peak_rss_mb:
            ratio, mem = run.wall_s / duck.wall_s, run.peak_rss_mb / duck.peak_rss_mb
            notes.append(f"{name}: {tool}/DuckDB wall {ratio:.2f}x, peak RSS {mem:.2f}x")
    return notes


def summary_notes(
    label: str, walls: dict[str, list[float]], ratios: dict[str, list[float]]
) -> list[str]:
    """Median and range of each tool's wall time over the rounds, and of its DuckDB ratio.

    The ratio is taken round by round, so a slow minute that slows both tools cancels out.
    """
    notes = [
        f"{label}: {tool} median {statistics.median(w):.2f} s ({min(w):.2f}-{max(w):.2f}) "
        f"of {len(w)} runs"
        for tool, w in walls.items()
    ]
    for tool, r in ratios.items():
        notes.append(
            f"{label}: {tool}/DuckDB wall, median of {len(r)} rounds: "
            f"{statistics.median(r):.2f}x ({min(r):.2f}-{max(r):.2f})"
        )
    return notes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--sizes",
        default="1m,10m",
        help="comma-separated order counts, e.g. 20k,1m,10m; 100m:500k fixes the customers",
    )
    p.add_argument("--smoke", action="store_true", help=f"only {SMOKE_SIZE} orders (CI)")
    p.add_argument("--keep-data", action="store_true", help="keep outputs in bench/data/results/")
    p.add_argument("--no-duckdb", action="store_true", help="skip the DuckDB reference")
    p.add_argument("--timeout", type=float, help="seconds per child (default 1800, smoke 300)")
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run the tools N times in turn per size and print medians (default 1)",
    )
    p.add_argument(
        "--style",
        choices=("en", "de"),
        default="en",
        help="de: winback reads German Excel exports of the same orders (DuckDB the en ones)",
    )
    p.add_argument(
        "--split",
        action="store_true",
        help="also run both scans with --top 1 (all the work, one row written)",
    )
    p.add_argument("--duckdb-worker", nargs=2, metavar=("CSV", "OUT"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.timeout = args.timeout or (300 if args.smoke else 1800)
    if args.repeat < 1:
        p.error("--repeat must be 1 or more")
    if args.duckdb_worker:
        duckdb_worker(*args.duckdb_worker)
        return 0
    labels = [SMOKE_SIZE] if args.smoke else [s.strip() for s in args.sizes.split(",") if s.strip()]
    work = DATA / "results" if args.keep_data else Path(tempfile.mkdtemp(prefix="winback-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; {versions()}",
        file=sys.stderr,
    )
    table, notes, ok = [], [], True
    try:
        for label in labels:
            rows, size_notes, size_ok = bench_size(label, work, args)
            table += rows
            notes += size_notes
            ok &= size_ok
    finally:
        if not args.keep_data:
            shutil.rmtree(work, ignore_errors=True)
    median, code = startup_time()
    print()
    print_table(table)
    print("", *notes, sep="\n")
    verdict = startup_verdict(median, code)
    print(f"\nwinback --help start-up: median {median:.3f} s of 5 runs ({verdict})")
    return 0 if ok and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
