"""README.md keeps its promises: every Python block runs, and the first block is two commands."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from snippets import code_blocks, run_python

README = Path(__file__).parents[1] / "README.md"


def blocks(language: str) -> list[str]:
    return code_blocks(README.read_text(), language)


def test_readme_has_python_blocks_to_run() -> None:
    assert len(blocks("python")) >= 2


def test_python_blocks_run_in_order(tmp_path: Path) -> None:
    # One script, so that a later block can use what an earlier one defined (``report``),
    # run in an empty folder, as a reader pasting them into a fresh session would.
    script = "\n".join(blocks("python"))
    result = run_python(script, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    # The quick start prints the report's summary, and the FileChannel block writes a page.
    assert "nightly-etl" in result.stdout
    page = tmp_path / "logs" / "nightly-etl.html"
    assert page.read_text().lstrip().lower().startswith("<!doctype html")


def test_first_bash_block_is_exactly_two_commands() -> None:
    # README.md promises "the two commands"; .ci/run runs the second one as CI's tests.
    first = blocks("bash")[0]
    commands = [line for line in first.splitlines() if line.strip() and not line.startswith("#")]
    assert len(commands) == 2, commands
    setup_and_example, setup_and_tests = commands
    assert "examples/" in setup_and_example
    assert "pytest" in setup_and_tests
    for command in commands:
        assert not command.rstrip().endswith("\\")  # one line each, no continuation
        assert shlex.split(command)  # well-formed shell words


def test_first_bash_block_names_files_that_exist() -> None:
    paths = re.findall(r"\S+\.py\b", blocks("bash")[0])
    assert paths
    for path in paths:
        assert (README.parent / path).is_file(), path
