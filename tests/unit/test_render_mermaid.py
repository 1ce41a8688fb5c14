"""Structural tests of the Mermaid view: parsed line by line, never compared to a golden file."""

from __future__ import annotations

import html
import re

import pytest

from factories import make_entry, make_report, small_report
from processes import ProcessExecutionReport, TaskStatus
from processes.rendering.mermaid import escape_label, render_mermaid

NODE = re.compile(r'^  (t\d+)\["(.*)"\]:::(\w+)$')
EDGE = re.compile(r"^  (t\d+) (-->|-\. skipped \.->) (t\d+)$")


def decode(label: str) -> str:
    """Undo Mermaid's entity codes the way Mermaid does: ``#35;`` -> ``&#35;`` -> ``#``."""
    return html.unescape(
        re.sub(r"#(\w+);", lambda m: f"&{'#' if m[1].isdigit() else ''}{m[1]};", label)
    )


def parse(text: str) -> tuple[dict[str, tuple[str, str]], list[tuple[str, str, str]], list[str]]:
    """Return nodes {id: (name, class)}, edges [(from, arrow, to)] and the classDef names."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    nodes: dict[str, tuple[str, str]] = {}
    edges: list[tuple[str, str, str]] = []
    class_defs: list[str] = []
    for line in lines[1:]:
        if line.startswith("  %%"):
            continue
        if line.startswith("  classDef "):
            class_defs.append(line.split()[1])
        elif node := NODE.match(line):
            ident, label, cls = node.groups()
            assert '"' not in label  # the label cannot end early
            name, status_line = label.split("<br/>")
            nodes[ident] = (decode(name), cls)
            assert status_line.endswith(cls)  # the status in words, not only by colour
        elif edge := EDGE.match(line):
            source, arrow, target = edge.groups()
            edges.append((source, arrow, target))
        else:
            pytest.fail(f"unexpected line {line!r}")
    return nodes, edges, class_defs


def test_every_task_is_one_node_with_its_status_class() -> None:
    report = small_report()
    nodes, _, class_defs = parse(render_mermaid(report))
    assert class_defs == [
        s.value
        for s in (TaskStatus.SUCCESS, TaskStatus.ERRORED, TaskStatus.SKIPPED, TaskStatus.PENDING)
    ]
    by_name = {name: cls for name, cls in nodes.values()}
    assert len(by_name) == len(nodes) == len(report.entries)
    assert by_name == {name: e.status.value for name, e in report.entries.items()}


def test_edges_follow_dependencies_and_dotted_ones_caused_a_skip() -> None:
    nodes, edges, _ = parse(small_report().to_mermaid())
    named = sorted((nodes[a][0], arrow, nodes[b][0]) for a, arrow, b in edges)
    assert named == sorted(
        [
            ("extract", "-->", "clean"),
            ("extract", "-->", "fetch"),
            ("clean", "-->", "load"),
            ("fetch", "-. skipped .->", "load"),
            ("load", "-. skipped .->", "publish"),
        ]
    )


@pytest.mark.parametrize(
    "name",
    [
        "<script>alert(1)</script>",
        'say "hi"',
        "hash#quot;",
        "%%{init: {'theme': 'dark'}}%%",
        "`markdown`",
        "amp&lt;",
        "pipe|[brackets]{braces}",
        "end",
        "o--x",
        "line\nbreak",
    ],
)
def test_names_mermaid_would_misread_are_escaped(name: str) -> None:
    report = make_report(make_entry(name), make_entry("after", dependencies=(name,)), name=name)
    text = report.to_mermaid()
    nodes, edges, _ = parse(text)
    assert {n for n, _ in nodes.values()} == {name.replace("\n", " "), "after"}
    assert len(edges) == 1
    assert "<script" not in text
    assert "%%{" not in text
    for ident in nodes:
        assert re.fullmatch(r"t\d+", ident)  # ids never carry the name, so never a keyword


def test_escape_label_round_trips() -> None:
    text = '#35; & <b> "q" `x` 100%'
    assert decode(escape_label(text)) == text


def test_filtered_and_empty_reports() -> None:
    nodes, edges, _ = parse(small_report().only(["fetch", "load"]).to_mermaid())
    assert sorted(n for n, _ in nodes.values()) == ["fetch", "load"]
    assert [(nodes[a][0], nodes[b][0]) for a, _, b in edges] == [("fetch", "load")]
    nodes, edges, class_defs = parse(ProcessExecutionReport().to_mermaid())
    assert nodes == {}
    assert edges == []
    assert len(class_defs) == 4


def test_duplicate_and_self_dependencies_draw_one_edge() -> None:
    report = make_report(make_entry("a"), make_entry("b", dependencies=("a", "a", "b")))
    _, edges, _ = parse(report.to_mermaid())
    assert edges == [("t0", "-->", "t1")]
