"""docs/deployment.md covers what the issue lists and agrees with the config it describes."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from release import config as release_config  # noqa: E402
from release.plan import PHASES  # noqa: E402

DOC = (ROOT / "docs" / "deployment.md").read_text()
CONFIG = release_config.load()


def test_every_section_the_guide_promises_is_there() -> None:
    headings = re.findall(r"^## \d+\. (.+)$", DOC, re.MULTILINE)
    for wanted in (
        "Prerequisites",
        "Bootstrap",
        "first deploy",
        "Custom domain",
        "Environments",
        "Secrets and rotation",
        "Migrations",
        "Rollout and rollback",
        "Cloud Armor",
        "Cost notes",
        "Security checklist",
        "Troubleshooting",
    ):
        assert any(wanted.lower() in heading.lower() for heading in headings), wanted
    troubleshooting = DOC.split("## 12. Troubleshooting", 1)[1]
    for symptom in ("requires an index", "signBlob", "Cold starts", "429", "60 seconds"):
        assert symptom in troubleshooting, symptom


def test_the_phase_table_lists_the_pipelines_phases_in_order() -> None:
    rows = re.findall(r"^\| (\d+) \| `([a-z-]+)` \|", DOC, re.MULTILINE)
    assert [name for _, name in rows] == list(PHASES)


def test_the_function_table_matches_deploy_config() -> None:
    for spec in CONFIG.functions:
        row = re.search(rf"^\| {spec.name} \| (.+)$", DOC, re.MULTILINE)
        assert row, spec.name
        cells = [cell.strip() for cell in row[1].split("|")]
        memory, cpu, concurrency, minimum, maximum = cells[:5]
        assert memory == spec.memory and cpu == spec.cpu
        assert concurrency == str(spec.concurrency)
        assert minimum == f"{spec.min_instances['staging']} / {spec.min_instances['production']}"
        assert maximum == f"{spec.max_instances['staging']} / {spec.max_instances['production']}"


def test_the_guide_names_the_commands_that_exist() -> None:
    assert "make deploy-plan ENV=staging" in DOC
    assert "scripts/migrate.py --project=" in DOC and "--apply" in DOC
    assert (ROOT / "scripts" / "bootstrap_project.sh").exists()
    for phase in re.findall(r"--phase (\w[\w-]*)", DOC):
        assert phase in (*PHASES, "rollback", "PHASE"), phase
    assert f"firebase-tools@{CONFIG.pipeline.firebase_tools}" in DOC
