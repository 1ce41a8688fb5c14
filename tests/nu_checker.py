"""The Nu HTML checker (``vnu-jar`` from npm, on a headless JRE), run on HTML we render.

``nu_errors(html)`` returns the checker's error messages (warnings and info left out);
a page that passes returns ``[]``. Skips the test when Java or ``vnu.jar`` is missing,
unless ``CI`` is set (then it fails). Shared by the email and report page tests; imports
the standard library and pytest only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing: .ci/run installs it")
    pytest.skip(f"{what} is not installed")


def vnu_jar() -> Path:
    """Return ``$VNU_JAR``, else the jar of the global npm package ``vnu-jar``."""
    if candidate := os.environ.get("VNU_JAR"):
        return Path(candidate)
    npm = shutil.which("npm")
    if npm is not None:
        root = subprocess.run(
            [npm, "root", "-g"], capture_output=True, text=True, check=False, timeout=60
        ).stdout.strip()
        jar = Path(root, "vnu-jar", "build", "dist", "vnu.jar")
        if jar.is_file():
            return jar
    _missing("vnu-jar (npm install -g vnu-jar)")
    raise AssertionError("unreachable")


def nu_errors(*pages: str) -> list[list[str]]:
    """Check each of ``pages``; return, for each, its errors as ``line: message`` strings."""
    java = shutil.which("java")
    if java is None:
        _missing("java (apt-get install default-jre-headless)")
    jar = vnu_jar()
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for number, page in enumerate(pages):
            path = Path(folder, f"page{number}.html")
            path.write_text(page, encoding="utf-8")
            paths.append(path)
        done = subprocess.run(
            [str(java), "-jar", str(jar), "--format", "json", "--exit-zero-always"]
            + [str(p) for p in paths],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        found: dict[str, list[str]] = {p.name: [] for p in paths}
        for message in json.loads(done.stderr or done.stdout)["messages"]:
            if message.get("type") == "error" or message.get("subType") == "fatal":
                # "file:/tmp/x/page0.html": the checker's own spelling of the file's URL.
                where = message.get("url", "").rpartition("/")[2]
                said = f"{message.get('lastLine', '?')}: {message.get('message', '')}"
                found.setdefault(where, []).append(said)
        assert set(found) == {p.name for p in paths}, found  # every error is one of ours
        return [found[p.name] for p in paths]
