"""The docs pages a newcomer copies from first hold Python that runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from snippets import code_blocks, run_python

DOCS = Path(__file__).parents[1] / "docs"


@pytest.mark.parametrize("page", ["index.md", "getting-started.md"])
def test_python_blocks_of_the_page_run_in_order(page: str, tmp_path: Path) -> None:
    text = (DOCS / page).read_text()
    script = "\n".join(code_blocks(text, "python"))
    assert script
    result = run_python(script, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    assert "nightly-etl  OK" in result.stdout
    assert (tmp_path / "logs" / "extract.log").read_text().count("\n") == 2


def test_every_page_in_the_nav_exists() -> None:
    config = (DOCS.parent / "mkdocs.yml").read_text()
    pages = re.findall(r"^\s+- (?:[^:\n]+: )?([\w/-]+\.md)$", config, flags=re.MULTILINE)
    assert "index.md" in pages
    assert "api/index.md" in pages
    for page in pages:
        assert (DOCS / page).is_file(), page
