"""Structural tests of the Mermaid view: parsed line by line, never compared to a golden file."""

from __future__ import annotations

import html
import re
from dataclasses import replace

import pytest

from factories import make_entry, make_error, make_report, small_report
from processes import Process, ProcessExecutionReport, SkipReason, Task, TaskDependency, TaskStatus
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
    nodes, edges, class_defs, _ = parse_with_notes(text)
    return nodes, edges, class_defs


def parse_with_notes(
    text: str,
) -> tuple[dict[str, tuple[str, str]], list[tuple[str, str, str]], list[str], dict[str, str]]:
    """``parse``, plus each node's decoded note after its status: {name: "(deadline)"}."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    notes: dict[str, str] = {}
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
            # The status in words, not only by colour, then what to know about it.
            status = re.fullmatch(rf"\S+ {cls}(.*)", status_line)
            assert status is not None, status_line
            notes[decode(name)] = decode(status.group(1)).strip()
        elif edge := EDGE.match(line):
            source, arrow, target = edge.groups()
            edges.append((source, arrow, target))
        else:
            pytest.fail(f"unexpected line {line!r}")
    return nodes, edges, class_defs, notes


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


# -- why a task was skipped ------------------------------------------------------------------


def _one() -> int:
    return 1


def _boom() -> None:
    raise RuntimeError("boom")


def named_edges(text: str) -> list[tuple[str, str, str]]:
    nodes, edges, _ = parse(text)
    return [(nodes[a][0], arrow, nodes[b][0]) for a, arrow, b in edges]


def test_a_skipped_node_names_the_failure_it_was_skipped_because_of() -> None:
    _, _, _, notes = parse_with_notes(small_report().to_mermaid())
    assert notes["load"] == "(because of fetch)"
    assert notes["publish"] == "(because of fetch)"  # the root, not the skipped load
    assert notes["fetch"] == ""
    assert notes["extract"] == ""


def test_a_compensation_skipped_on_a_healthy_run_says_so_and_draws_no_skip_arrow() -> None:
    tasks = [
        Task("load", _one),
        Task("compensate", _one, dependencies=[TaskDependency("load")], run_when="any_failed"),
        Task("report_refund", _one, dependencies=[TaskDependency("compensate")]),
    ]
    report = Process(tasks).run(parallel=False)
    assert report.entries["compensate"].skip_reason is SkipReason.CONDITION_NOT_MET
    text = report.to_mermaid()
    _, _, _, notes = parse_with_notes(text)
    assert notes["compensate"] == "(nothing upstream failed)"
    assert notes["report_refund"] == "(nothing upstream failed)"
    # Nothing failed, so no arrow says a task was skipped because of another.
    assert named_edges(text) == [
        ("load", "-->", "compensate"),
        ("compensate", "-->", "report_refund"),
    ]


def test_fail_fast_skips_say_fail_fast_and_blame_no_upstream_task() -> None:
    tasks = [Task("a", _boom), Task("z", _one), Task("y", _one, dependencies=[TaskDependency("z")])]
    report = Process(tasks).run(parallel=False, fail_fast=True)
    assert report.entries["y"].skip_reason is SkipReason.FAIL_FAST
    text = report.to_mermaid()
    _, _, _, notes = parse_with_notes(text)
    assert notes == {"a": "", "z": "(fail-fast)", "y": "(fail-fast)"}
    assert named_edges(text) == [("z", "-->", "y")]


@pytest.mark.parametrize(
    ("reason", "note"),
    [
        (SkipReason.DEADLINE, "(deadline)"),
        (SkipReason.INTERRUPTED, "(interrupted)"),
        (SkipReason.TERMINATED, "(terminated (SIGTERM))"),
    ],
)
def test_every_skip_reason_is_in_the_label(reason: SkipReason, note: str) -> None:
    skipped = replace(
        make_entry("late", TaskStatus.SKIPPED, dependencies=("a",)), skip_reason=reason
    )
    report = make_report(make_entry("a"), skipped)
    _, _, _, notes = parse_with_notes(report.to_mermaid())
    assert notes["late"] == note


def test_the_failures_named_in_a_label_are_escaped_and_capped() -> None:
    roots = [f"<b>#{i}</b>" for i in range(5)]
    failed = [
        make_entry(name, TaskStatus.ERRORED, error=make_error(name, downstream=("after",)))
        for name in roots
    ]
    after = make_entry("after", TaskStatus.SKIPPED, dependencies=tuple(roots))
    text = make_report(*failed, after).to_mermaid()
    assert "<b>" not in text
    _, _, _, notes = parse_with_notes(text)
    assert notes["after"] == f"(because of {', '.join(roots[:3])} \u2026 and 2 more)"
