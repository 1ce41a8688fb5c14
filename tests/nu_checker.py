"""The Nu HTML checker (vnu.jar, npm's ``vnu-jar``) on HTML we render: its errors, as text.

Needs Java (Debian's ``default-jre-headless``) and ``npm install -g vnu-jar``, which
``.ci/run`` installs. Without them a test skips locally and fails under CI=1, as
``browser.py`` does for Chromium. ``nu_errors(html)`` checks one document;
``nu_errors_of(pages)`` checks several in one JVM start (a few seconds each).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest

_JAR_IN_PACKAGE = Path("vnu-jar") / "build" / "dist" / "vnu.jar"


def vnu_jar() -> Path | None:
    """``$VNU_JAR`` if set, else the jar of npm's global ``vnu-jar`` package."""
    if given := os.environ.get("VNU_JAR"):
        return Path(given) if Path(given).is_file() else None
    roots = [Path("/usr/lib/node_modules"), Path("/usr/local/lib/node_modules")]
    if npm := shutil.which("npm"):
        found = subprocess.run(
            [npm, "root", "-g"], capture_output=True, text=True, timeout=60, check=False
        )
        if found.returncode == 0 and found.stdout.strip():
            roots.insert(0, Path(found.stdout.strip()))
    return next(
        (root / _JAR_IN_PACKAGE for root in roots if (root / _JAR_IN_PACKAGE).is_file()), None
    )


def _checker() -> list[str]:
    java = shutil.which("java")
    jar = vnu_jar()
    if java and jar:
        return [java, "-jar", str(jar)]
    missing = "Java" if not java else "vnu.jar"
    if os.environ.get("CI"):
        pytest.fail(f"{missing} is missing; .ci/run installs default-jre-headless and vnu-jar")
    pytest.skip(f"{missing} is missing (apt-get install default-jre-headless; npm i -g vnu-jar)")


def nu_errors_of(pages: Mapping[str, str]) -> dict[str, list[str]]:
    """Check each named HTML document; return its errors as "line:column: message"."""
    command = _checker()
    with tempfile.TemporaryDirectory() as folder:
        paths = {}
        for index, (name, html) in enumerate(pages.items()):
            path = Path(folder) / f"page{index}.html"
            path.write_text(html, encoding="utf-8")
            paths[path.name] = name
        done = subprocess.run(
            [
                *command,
                "--errors-only",
                "--format",
                "json",
                "--stdout",
                *map(str, Path(folder).glob("*.html")),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    if done.returncode not in (0, 1):  # 1: errors were found
        raise RuntimeError(f"vnu.jar failed ({done.returncode}): {done.stderr[-2000:]}")
    errors: dict[str, list[str]] = {name: [] for name in pages}
    for message in json.loads(done.stdout)["messages"]:
        if message.get("type") != "error":
            continue
        # The checker names a file "file:/tmp/.../page0.html": its file name is enough.
        name = paths[str(message.get("url", "")).rsplit("/", 1)[-1]]
        where = f"{message.get('lastLine', '?')}:{message.get('firstColumn', '?')}"
        errors[name].append(f"{where}: {message['message']}")
    return errors


def nu_errors(html: str) -> list[str]:
    """The Nu HTML checker's errors for one document, as "line:column: message"."""
    return nu_errors_of({"page": html})["page"]
