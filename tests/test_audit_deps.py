"""`make audit-deps` decides from pip-audit's JSON report: a vulnerability fails, a
package that could not be audited is reported as such (never as a pass)."""

from __future__ import annotations

from tools.audit_deps import verdict


def test_a_vulnerability_is_listed_with_its_fix() -> None:
    report = {
        "dependencies": [
            {"name": "httpx", "version": "0.28.1", "vulns": []},
            {
                "name": "jinja2",
                "version": "3.1.2",
                "vulns": [{"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"]}],
            },
        ]
    }
    found, skipped = verdict(report)
    assert found == ["jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in 3.1.3)"]
    assert skipped == []


def test_skipped_packages_are_not_a_pass() -> None:
    # What pip-audit reports when the service answers "not found" for every package.
    report = {
        "dependencies": [
            {
                "name": "httpx",
                "skip_reason": "Dependency not found on PyPI and could not be audited",
            }
        ]
    }
    assert verdict(report) == ([], ["httpx"])
