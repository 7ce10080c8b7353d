"""`sre-tui new-runbook`: a scaffold that passes `lint --strict` as written, never overwriting."""

from __future__ import annotations

from pathlib import Path

import yaml

from sre_tui.cli import main
from sre_tui.core.lint import validate_text

REPO = Path(__file__).resolve().parent.parent


def test_scaffold_passes_strict_lint_and_fills_id_title_severity(tmp_path, capsys) -> None:
    out = tmp_path / "checkout.yaml"
    title = 'Checkout: "errors" {x} # not a comment'
    assert (
        main(
            [
                "new-runbook",
                "checkout-errors",
                "-o",
                str(out),
                "--title",
                title,
                "--severity",
                "sev1",
            ]
        )
        == 0
    )
    assert f"Wrote {out}" in capsys.readouterr().err
    data = yaml.safe_load(out.read_text())
    assert (data["id"], data["title"], data["severity"]) == ("checkout-errors", title, "SEV1")
    assert main(["lint", "--strict", str(out)]) == 0
    assert capsys.readouterr().out == ""
    runbook, _ = validate_text(out.read_text(), str(out))
    assert runbook is not None
    kinds = [section.kind.value for section in runbook.sections]
    assert kinds == [
        "triage",
        "diagnosis",
        "remediation",
        "verification",
        "escalation",
        "post-incident",
    ]
    assert {a.kind for a in runbook.actions} >= {"rollback", "env"}
    assert all(q.warn is not None and q.crit is not None for q in runbook.queries)
    assert runbook.escalation and runbook.contacts
    # Comments guide the author.
    assert out.read_text().count("#") > 10


def test_refuses_to_overwrite(tmp_path, capsys) -> None:
    out = tmp_path / "mine.yaml"
    out.write_text("precious\n")
    assert main(["new-runbook", "-o", str(out)]) == 2
    assert "exists; not overwriting" in capsys.readouterr().err
    assert out.read_text() == "precious\n"


def test_id_from_the_file_name_and_default_directory(tmp_path, capsys, monkeypatch) -> None:
    out = tmp_path / "disk-full.yaml"
    assert main(["new-runbook", "-o", str(out)]) == 0
    data = yaml.safe_load(out.read_text())
    assert (data["id"], data["title"], data["severity"]) == ("disk-full", "Disk full", "SEV3")
    # Without -o: <id>.yaml in the first configured runbook directory.
    books = tmp_path / "books"
    books.mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(f"runbook_dirs: [{books}]\n")
    assert main(["--config", str(config), "new-runbook", "queue-lag"]) == 0
    assert yaml.safe_load((books / "queue-lag.yaml").read_text())["id"] == "queue-lag"
    # And it is listed by the plain lint of that directory.
    assert main(["--config", str(config), "lint"]) == 0
    assert "1 valid runbook(s)" in capsys.readouterr().err


def test_stdout_and_bad_arguments(capsys) -> None:
    assert main(["new-runbook", "x1", "-o", "-"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["id"] == "x1"
    assert main(["new-runbook", "Bad Id", "-o", "-"]) == 2
    assert "must be lowercase" in capsys.readouterr().err
    assert main(["new-runbook", "ok", "-o", "-", "--severity", "SEV9"]) == 2
    assert "severity must be SEV1–SEV4" in capsys.readouterr().err
    assert main(["new-runbook"]) == 2
    assert "give the runbook's id" in capsys.readouterr().err


def test_template_is_package_data() -> None:
    # Read through importlib.resources (as an installed package would be).
    from sre_tui.commands import scaffold
    from sre_tui.core.severity import Severity

    text = scaffold("probe", "Probe", Severity.SEV2, "2026-01-05")
    assert "__" not in text  # every marker filled
    assert (REPO / "sre_tui" / "templates" / "runbook.yaml").is_file()
