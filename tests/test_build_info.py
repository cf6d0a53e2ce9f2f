"""Which build runs: `watchkeeper --version` and the `watchkeeper_build_info` metric."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot import build_info
from bot.cli import main
from bot.monitoring.metrics import Metrics

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(autouse=True)
def _fresh() -> None:
    build_info.commit.cache_clear()


def test_version_prints_the_package_version_and_commit(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHKEEPER_COMMIT", SHA)
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"watchkeeper {version('watchkeeper')} ({SHA})"


def test_the_build_info_metric_names_version_and_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHKEEPER_COMMIT", SHA)
    families = text_string_to_metric_families(Metrics().render().decode())
    [sample] = [s for f in families for s in f.samples if s.name == "watchkeeper_build_info"]
    assert sample.labels == {"version": version("watchkeeper"), "commit": SHA}
    assert sample.value == 1


@pytest.mark.parametrize("packed", [False, True])
def test_a_checkout_commit_is_read_from_git_without_running_git(
    tmp_path: Path, packed: bool
) -> None:
    git = tmp_path / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    if packed:
        (git / "packed-refs").write_text(f"# pack-refs\n{SHA} refs/heads/main\n")
    else:
        (git / "refs" / "heads" / "main").write_text(SHA + "\n")
    assert build_info._checkout_commit(git) == SHA[:12]


def test_a_worktree_checkout_reads_its_own_head_and_the_shared_refs(tmp_path: Path) -> None:
    repo = tmp_path / "repo" / ".git"
    own = repo / "worktrees" / "wt"
    (repo / "refs" / "heads").mkdir(parents=True)
    own.mkdir(parents=True)
    (repo / "refs" / "heads" / "feature").write_text(SHA + "\n")
    (own / "HEAD").write_text("ref: refs/heads/feature\n")
    (own / "commondir").write_text("../..\n")
    checkout = tmp_path / "wt"
    checkout.mkdir()
    (checkout / ".git").write_text(f"gitdir: {own}\n")
    assert build_info._checkout_commit(checkout / ".git") == SHA[:12]


def test_no_checkout_and_no_variable_says_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WATCHKEEPER_COMMIT", raising=False)
    monkeypatch.setattr(build_info, "CHECKOUT", tmp_path)
    assert build_info.commit() == "unknown"
