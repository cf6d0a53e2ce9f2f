"""What the benchmarks ran on, for the report's first section: each fact read here, or
"unknown" with why, never a guess."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from pathlib import Path

import psycopg

from bench.sizes import PG_ADMIN
from standins.alertmanager import find_binary

ROOT = Path(__file__).resolve().parent.parent


def cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    except OSError:
        pass
    return f"{platform.processor() or 'unknown model'}, {os.cpu_count()} cores"


def memory() -> str:
    try:
        total_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return "unknown"
    return f"{total_kb / 1024 / 1024:.1f} GiB"


def operating_system() -> str:
    name = platform.system()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                name = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return f"{name}, kernel {platform.release()}"


def postgresql() -> str:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
    except psycopg.Error as exc:
        return f"not reachable at {PG_ADMIN} ({type(exc).__name__}): its figures are missing"
    return str(row[0]) if row else "unknown"


def alertmanager() -> str:
    binary = find_binary()
    if binary is None:
        return "not installed: the intake baseline is missing"
    out = _run([binary, "--version"])
    return out.splitlines()[0] if out else binary


def commit() -> str:
    sha = _run(["git", "rev-parse", "--short", "HEAD"])
    if not sha:
        return "unknown (not a git checkout)"
    changed = _run(["git", "status", "--porcelain", "--untracked-files=no"])
    return f"{sha} (with uncommitted changes)" if changed else sha


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def _run(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (done.stdout or done.stderr).strip() if done.returncode == 0 else ""


def facts() -> dict[str, str]:
    """The machine and the software the figures depend on, in the report's order."""
    return {
        "CPU": cpu(),
        "memory": memory(),
        "OS": operating_system(),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "PostgreSQL": postgresql(),
        "SQLite": sqlite3.sqlite_version,
        "Alertmanager": alertmanager(),
        "commit": commit(),
    }
