"""The README's commands name files that ship: a newcomer can paste them as written."""

import re

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
SHELL_BLOCKS = re.findall(r"```bash\n(.*?)```", README, re.DOTALL)
# Paths in the repository; out/ is where the examples write.
REPO_PATH = re.compile(r"(?<![\w/.-])((?:examples|seeds|docs|training|models|benchmarks)/[\w./-]*\w)")


def test_every_repository_path_in_a_shell_block_exists():
    paths = {m for block in SHELL_BLOCKS for m in REPO_PATH.findall(block)}
    assert "examples/news.jsonl" in paths
    missing = [p for p in sorted(paths) if not (ROOT / p).exists()]
    assert missing == []


def test_scored_inputs_are_repository_paths():
    """Each `stance score|track|network` input is a shipped file or directory, or stdin (a first
    argument that is an option, as in `stance score --db FILE`, reads the store instead)."""
    for block in SHELL_BLOCKS:
        for line in block.splitlines():
            match = re.search(r"stance (?:score|track|network|ingest) (?!--)(\S+)", line)
            if match:
                assert match.group(1) == "-" or (ROOT / match.group(1)).exists(), line


def test_a_license_ships():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
