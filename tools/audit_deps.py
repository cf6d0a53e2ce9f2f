"""`make audit-deps`: known vulnerabilities in the pinned dependencies (the lock files).

pip-audit asks a vulnerability service about each pin. Where the service cannot be
reached (a mirror that serves packages but not PyPI's JSON API, or no route to OSV),
pip-audit "skips" every package and still says "No known vulnerabilities found"; that
is not a pass. So this reads pip-audit's JSON report and decides:

    a vulnerability found                      → exit 1, each one listed
    packages that could not be audited         → a loud warning, exit 0 (for now:
                                                 CI must not fail on the network)
    everything audited, nothing found          → exit 0

Services are tried in order (PyPI, then OSV) until one audits the whole lock file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

SERVICES = ("pypi", "osv")


def audit(locks: list[Path], service: str) -> dict[str, Any] | None:
    """pip-audit's JSON report, or None when the service could not be asked at all."""
    requirements = [arg for lock in locks for arg in ("-r", str(lock))]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        done = subprocess.run(
            [sys.executable, "-m", "pip_audit", "--no-deps", "--disable-pip", *requirements,
             "-s", service, "-f", "json", "-o", str(out), "--progress-spinner", "off"],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        if not out.exists() or not out.read_text().strip():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            print(f"audit-deps: the {service} service could not be asked: {last}", file=sys.stderr)
            return None
        report: dict[str, Any] = json.loads(out.read_text())
        return report


def verdict(report: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(vulnerabilities as lines, packages that were not audited)."""
    found, skipped = [], []
    for dep in report.get("dependencies", []):
        if "skip_reason" in dep:
            skipped.append(dep["name"])
        for vuln in dep.get("vulns", []):
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed version"
            found.append(
                f"{dep['name']} {dep.get('version', '?')}: {vuln['id']} (fixed in {fixes})"
            )
    return found, skipped


def main(argv: list[str]) -> int:
    locks = [Path(arg) for arg in argv[1:]] or [Path("requirements.lock")]
    skipped: list[str] = []
    for service in SERVICES:
        report = audit(locks, service)
        if report is None:
            continue
        found, skipped = verdict(report)
        if found:
            print(f"audit-deps: {len(found)} known vulnerabilities ({service}):")
            print("\n".join(f"  {line}" for line in found))
            return 1
        if not skipped:
            count = len(report["dependencies"])
            print(f"audit-deps: {count} pinned packages, none vulnerable ({service})")
            return 0
        print(f"audit-deps: {service} could not audit {len(skipped)} packages", file=sys.stderr)
    banner = "!" * 78
    how_many = len(skipped) or "any of the"
    print(
        f"{banner}\nWARNING: the dependencies were NOT audited: no vulnerability service answered"
        f"\nfor {how_many} pinned packages (see above). This is not a pass.\n{banner}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
