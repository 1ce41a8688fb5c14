"""Structural tests of the HTML page: parsed, never compared to a golden file."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from factories import (
    T0,
    dag_report,
    make_entry,
    make_error,
    make_report,
    raising,
    small_report,
)
from processes import (
    Process,
    ProcessExecutionReport,
    ReportContent,
    SkipReason,
    Task,
    TaskDependency,
    TaskStatus,
)
from processes.rendering import html as html_view
from processes.rendering.html import layout_graph, render_html

SVG = "{http://www.w3.org/2000/svg}"
VOID = {"meta", "input", "br", "hr", "img", "link", "col", "wbr", "source"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    contents: list[Node | str] = field(default_factory=list)

    @property
    def children(self) -> list[Node]:
        return [c for c in self.contents if isinstance(c, Node)]

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.contents)

    def iter(self) -> list[Node]:
        found = [self]
        for child in self.children:
            found.extend(child.iter())
        return found

    def find_all(self, tag: str, cls: str | None = None) -> list[Node]:
        return [n for n in self.iter() if n.tag == tag and (cls is None or cls in n.classes)]

    def by_id(self, ident: str) -> Node:
        (node,) = [n for n in self.iter() if n.attrs.get("id") == ident]
        return node


class TreeBuilder(HTMLParser):
    """Just enough of a DOM: nested tags, attributes and text; fails on mismatched tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].contents.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].contents.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].contents.append(data)


def parse(page: str) -> Node:
    builder = TreeBuilder()
    builder.feed(page)
    builder.close()
    assert builder.stack == [builder.root], "unclosed tags"
    return builder.root


def svg_of(page: str) -> ET.Element:
    """The inline SVG, parsed as XML: it must be well-formed on its own."""
    match = re.search(r"<svg\b.*?</svg>", page, re.DOTALL)
    assert match, "no <svg> in the page"
    return ET.fromstring(match.group(0))


def timeline_rows(root: Node) -> list[Node]:
    (table,) = root.find_all("table", "tasks")
    (body,) = table.find_all("tbody")
    return body.find_all("tr")


def row_name(row: Node) -> str:
    return row.find_all("th")[0].text()


# -- the whole page ----------------------------------------------------------------------


def test_page_is_standalone_and_well_formed() -> None:
    page = small_report().to_html()
    root = parse(page)
    assert page.startswith("<!doctype html>")
    assert not root.find_all("script")
    assert not root.find_all("link")
    assert not root.find_all("img")
    # The only URL is the SVG namespace, which is a name, never fetched.
    assert re.findall(r"https?://[^\s\"')]+", page) == ["http://www.w3.org/2000/svg"]
    assert "@import" not in page
    for anchor in root.find_all("a"):
        href = anchor.attrs["href"]
        assert href.startswith("#"), href
        root.by_id(href[1:])  # every in-page link lands somewhere


def test_summary_states_the_verdict_and_counts_in_words() -> None:
    root = parse(small_report().to_html())
    summary = root.by_id("summary")
    verdict = summary.find_all("p", "verdict")[0]
    assert "failed" in verdict.classes
    assert "Failed: 1 errored, 2 skipped of 6 tasks." in verdict.text()
    counts = {li.attrs["class"]: li.text() for li in summary.find_all("li")}
    assert counts == {"success": "3 succeeded", "errored": "1 errored", "skipped": "2 skipped"}
    assert "took 5.00 s" in summary.text()


def test_a_clean_run_says_so() -> None:
    report = make_report(make_entry("a", start=0), make_entry("b", start=1, dependencies=("a",)))
    root = parse(report.to_html())
    verdict = root.find_all("p", "verdict")[0]
    assert "ok" in verdict.classes
    assert "all 2 tasks succeeded" in verdict.text()
    assert "No task failed." in root.by_id("failures").text()


def test_empty_report_renders() -> None:
    root = parse(ProcessExecutionReport().to_html())
    assert "No tasks in this report." in root.by_id("summary").text()
    assert "No tasks, so no graph." in root.by_id("graph").text()
    assert not timeline_rows(root)


# -- timeline ----------------------------------------------------------------------------


def test_timeline_lists_every_task_once_with_its_status_word() -> None:
    report = small_report()
    rows = timeline_rows(parse(report.to_html()))
    assert sorted(row_name(r) for r in rows) == sorted(report.entries)
    for row in rows:
        status = report.entries[row_name(row)].status.value
        assert status in row.classes
        assert status in row.find_all("td")[0].text()  # in words, not only in colour


def test_timeline_bars_are_ordered_by_start_time_and_placed_on_the_time_axis() -> None:
    report = dag_report(300, failures=10)
    rows = timeline_rows(parse(report.to_html()))
    names = [row_name(r) for r in rows]
    timed = sorted(
        (e for e in report.entries.values() if e.started_at), key=lambda e: e.started_at or T0
    )
    assert names[: len(timed)] == [e.name for e in timed]
    assert set(names[len(timed) :]) == set(report.skipped)  # never ran: after the bars
    lefts = []
    for row in rows[: len(timed)]:
        (bar,) = row.find_all("span")
        style = dict(part.split(":") for part in bar.attrs["style"].split(";"))
        lefts.append(float(style["left"].rstrip("%")))
        assert 0 <= float(style["width"].rstrip("%")) <= 100
    assert lefts == sorted(lefts)
    assert lefts[0] == pytest.approx(0, abs=1)
    assert all(not r.find_all("span") for r in rows[len(timed) :])


def test_retries_are_visible_in_the_timeline_and_the_failure() -> None:
    root = parse(small_report().to_html())
    rows = {row_name(r): r for r in timeline_rows(root)}
    assert "retried" in rows["fetch"].classes
    assert "retried" in rows["audit"].classes
    assert "retried" not in rows["extract"].classes
    assert rows["fetch"].find_all("td")[1].text() == "3"
    detail = root.by_id("failure-0")
    attempts = [li.text() for li in detail.find_all("ol")[0].find_all("li")]
    assert attempts == ["ConnectionError: reset", "ConnectionError: reset", "boom"]
    assert "audit succeeded after 2 attempts: TimeoutError" in root.by_id("failures").text()


def test_skipped_rows_name_the_root_failure_and_the_path_to_it() -> None:
    # fetch errored -> load skipped -> publish skipped: the fix is in fetch for both.
    page = small_report().to_html()
    rows = {row_name(r): r for r in timeline_rows(parse(page))}
    assert rows["load"].find_all("td")[0].text().endswith("skipped (because of fetch)")
    assert (
        rows["publish"].find_all("td")[0].text().endswith("skipped (because of fetch (via load))")
    )
    (title,) = (t.text for t in graph_nodes(svg_of(page))["publish"].iter(f"{SVG}title"))
    assert title is not None
    assert title.endswith("skipped because of fetch (via load)")


def test_report_without_times_lists_tasks_without_bars() -> None:
    report = make_report(
        make_entry("a", start=None), make_entry("b", start=None, dependencies=("a",))
    )
    root = parse(report.to_html())
    rows = timeline_rows(root)
    assert [row_name(r) for r in rows] == ["a", "b"]
    assert not any(r.find_all("span") for r in rows)
    assert "No start times were recorded" in root.by_id("timeline").text()


# -- graph -------------------------------------------------------------------------------


def graph_nodes(svg: ET.Element) -> dict[str, ET.Element]:
    nodes = [g for g in svg.iter(f"{SVG}g") if "node" in g.get("class", "").split()]
    names = [g.get("data-task") for g in nodes]
    assert len(names) == len(set(names)), "a task drawn twice"
    return {str(name): g for name, g in zip(names, nodes, strict=True)}


def graph_edges(svg: ET.Element) -> list[tuple[str, str, bool]]:
    return [
        (p.get("data-from", ""), p.get("data-to", ""), "skip" in p.get("class", "").split())
        for p in svg.iter(f"{SVG}path")
        if "edge" in p.get("class", "").split()
    ]


def test_graph_draws_every_task_once_with_its_status() -> None:
    report = small_report()
    svg = svg_of(report.to_html())
    nodes = graph_nodes(svg)
    assert set(nodes) == set(report.entries)
    for name, g in nodes.items():
        status = report.entries[name].status.value
        assert g.get("data-status") == status
        assert status in g.get("class", "")
        texts = ["".join(t.itertext()) for t in g.iter(f"{SVG}text")]
        assert texts[0] == name
        assert status in texts[1]  # the status in words next to the colour
        title = g.find(f"{SVG}title")
        assert title is not None
        assert title.text is not None
        assert title.text.startswith(f"{name}: {status}")


def test_graph_edges_match_dependencies_and_mark_what_skipped_what() -> None:
    svg = svg_of(small_report().to_html())
    assert sorted(graph_edges(svg)) == sorted(
        [
            ("extract", "clean", False),
            ("extract", "fetch", False),
            ("clean", "load", False),
            ("fetch", "load", True),
            ("load", "publish", True),
        ]
    )


def test_graph_edges_run_left_to_right_in_layers() -> None:
    report = dag_report(400, failures=12)
    svg = svg_of(report.to_html())
    nodes = graph_nodes(svg)
    x_of = {
        name: float(re.findall(r"[\d.]+", g.get("transform", ""))[0]) for name, g in nodes.items()
    }
    edges = graph_edges(svg)
    assert len(edges) == sum(len(e.dependencies) for e in report.entries.values())
    for source, target, skip in edges:
        assert x_of[source] < x_of[target]
        if skip:
            assert report.entries[target].status is TaskStatus.SKIPPED
    width = float(svg.get("width", "0"))
    assert all(0 <= x < width for x in x_of.values())


def test_errored_nodes_link_to_their_failure_details() -> None:
    page = small_report().to_html()
    links = [a for a in parse(page).find_all("a") if a.find_all("g", "node")]
    assert len(links) == 1
    assert links[0].find_all("g")[0].attrs["data-task"] == "fetch"
    assert links[0].attrs["href"] == "#failure-0"


def test_layers_follow_the_longest_path() -> None:
    report = make_report(
        make_entry("a"),
        make_entry("b", dependencies=("a",)),
        make_entry("c", dependencies=("a", "b")),
        make_entry("d"),
        make_entry("e", dependencies=("d", "c")),
    )
    layout = layout_graph(report)
    assert layout.layers == {"a": 0, "b": 1, "c": 2, "d": 0, "e": 3}
    xs = {name: x for name, (x, _) in layout.positions.items()}
    assert xs["a"] == xs["d"] < xs["b"] < xs["c"] < xs["e"]
    ys = {name: y for name, (_, y) in layout.positions.items()}
    assert ys["a"] != ys["d"]  # same layer, different rows: nothing drawn on top of another


def test_layout_tolerates_filtered_reports_and_cycles() -> None:
    filtered = small_report().only(["load", "publish"])
    assert layout_graph(filtered).layers == {"load": 0, "publish": 1}
    assert graph_edges(svg_of(filtered.to_html())) == [("load", "publish", True)]
    cyclic = make_report(make_entry("x", dependencies=("y",)), make_entry("y", dependencies=("x",)))
    assert set(layout_graph(cyclic).positions) == {"x", "y"}
    assert set(graph_nodes(svg_of(cyclic.to_html()))) == {"x", "y"}


def test_nodes_in_one_layer_never_overlap() -> None:
    report = make_report(
        make_entry("root"), *(make_entry(f"leaf{i}", dependencies=("root",)) for i in range(90))
    )
    layout = layout_graph(report)
    corners = list(layout.positions.values())
    assert len(set(corners)) == len(corners)
    for x, y in corners:
        assert 0 <= x <= layout.width - html_view._NODE_W
        assert 0 <= y <= layout.height - html_view._NODE_H
    assert layout.height < 1500  # a wide layer wraps into sub-columns instead of a tower


def test_long_names_are_shortened_in_the_graph_but_complete_elsewhere() -> None:
    name = "a_really_long_task_name_that_goes_on_and_on"
    page = make_report(make_entry(name)).to_html()
    g = graph_nodes(svg_of(page))[name]
    label = "".join(next(g.iter(f"{SVG}text")).itertext())
    assert label.endswith("\u2026")
    assert len(label) < len(name)
    title = g.find(f"{SVG}title")
    assert title is not None
    assert title.text is not None
    assert name in title.text
    assert [row_name(r) for r in timeline_rows(parse(page))] == [name]


# -- failure details ---------------------------------------------------------------------


def test_failure_details_follow_report_content() -> None:
    report = small_report()
    full = parse(report.to_html()).by_id("failure-0")
    assert "raise ValueError('boom')" in full.find_all("pre", "traceback")[0].text()
    (variables,) = full.find_all("table", "vars")
    assert [r.find_all("td")[0].text() for r in variables.find_all("tr")[1:]] == ["row", "limit"]
    assert "jobs.py:12" in full.text()
    assert "Skipped because of it" in full.text()
    assert "2 tasks: load, publish" in full.text()

    trace = parse(report.to_html(content=ReportContent.trace())).by_id("failure-0")
    assert trace.find_all("pre", "traceback")
    assert not trace.find_all("table", "vars")

    minimal = parse(report.to_html(content=ReportContent.min())).by_id("failure-0")
    assert not minimal.find_all("pre")
    assert not minimal.find_all("table")
    assert "ValueError: boom" in minimal.text()


def test_script_in_names_messages_and_variables_stays_text() -> None:
    evil = "<script>alert(1)</script>"
    error = make_error(
        "x",
        f"ValueError: {evil}",
        downstream=(evil,),
        traceback=raising("x", f"ValueError: {evil}"),
        traced_vars={evil: evil},
        location=evil,
        module="jobs",
        args=(1,),
    )
    report = make_report(
        make_entry(
            evil, TaskStatus.ERRORED, start=0, error=error, attempt_errors=(evil,), attempts=2
        ),
        make_entry(evil + "2", TaskStatus.SKIPPED, dependencies=(evil,)),
        name=evil,
    )
    page = report.to_html()
    assert "<script" not in page
    root = parse(page)
    assert not root.find_all("script")
    assert evil in root.find_all("title")[0].text()
    assert evil in root.by_id("failure-0").text()
    assert set(graph_nodes(svg_of(page))) == {evil, evil + "2"}
    assert graph_edges(svg_of(page)) == [(evil, evil + "2", True)]
    assert {row_name(r) for r in timeline_rows(root)} == {evil, evil + "2"}


def test_quotes_in_names_cannot_break_out_of_attributes() -> None:
    name = 'x" onmouseover="alert(1)\' y'
    root = parse(make_report(make_entry(name)).to_html())
    (node,) = root.find_all("g", "node")
    assert node.attrs["data-task"] == name
    assert "onmouseover" not in node.attrs


# -- scale -------------------------------------------------------------------------------


def test_a_thousand_tasks_collapse_successes_and_keep_failures_in_view() -> None:
    report = dag_report(1_000, failures=30)
    page = report.to_html()
    root = parse(page)
    toggle = root.by_id("show-ok")
    assert "checked" not in toggle.attrs  # successes start hidden
    assert "hidden to keep failures in view" in root.by_id("timeline").text()
    details = root.find_all("details", "failure")
    assert len(details) == len(report.errored)
    assert sum("open" in d.attrs for d in details) == html_view.OPEN_FAILURES
    for d in details:  # folded or not, each failure shows its name and message
        (summary,) = d.find_all("summary")
        assert "broke" in summary.text()
    assert len(graph_nodes(svg_of(page))) == 1_000


def test_small_runs_show_successes() -> None:
    root = parse(small_report().to_html())
    assert "checked" in root.by_id("show-ok").attrs


def test_ten_thousand_tasks_make_one_page_of_a_few_megabytes() -> None:
    report = dag_report(10_000, failures=600)
    page = report.to_html()
    size = len(page.encode("utf-8"))
    assert size < 4_000_000, size
    root = parse(page)
    assert "<svg" not in page
    assert "not drawn for runs of more than" in root.by_id("graph-omitted").text()
    assert len(timeline_rows(root)) == 10_000
    assert len(root.find_all("details", "failure")) + len(
        [li for li in root.by_id("failures").find_all("li") if li.attrs.get("id")]
    ) == len(report.errored)


def test_failure_details_have_a_size_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(html_view, "MAX_FAILURE_DETAIL_CHARS", 5_000)
    huge = "x" * 100_000
    entries = [
        make_entry(
            f"f{i}",
            TaskStatus.ERRORED,
            start=i,
            error=make_error(f"f{i}", "ValueError: bad", traceback=huge),
        )
        for i in range(20)
    ]
    root = parse(make_report(*entries).to_html())
    details = root.find_all("details", "failure")
    assert 1 <= len(details) < 20
    assert "characters cut" in details[0].find_all("pre")[0].text()
    short = [li for li in root.by_id("failures").find_all("li") if li.attrs.get("id")]
    assert len(details) + len(short) == 20
    assert "more failures, listed without details" in root.by_id("failures").text()


def test_durations_and_times_read_naturally() -> None:
    report = make_report(
        make_entry("quick", start=0, seconds=0.25),
        make_entry("slow", start=1, seconds=3_700),
    )
    rows = {row_name(r): r for r in timeline_rows(parse(report.to_html()))}
    assert rows["quick"].find_all("td")[3].text() == "250 ms"
    assert rows["slow"].find_all("td")[3].text() == "1 h 01 min"
    assert rows["slow"].find_all("td")[2].text() == "+1.00 s"
    assert report.entries["slow"].started_at == T0 + timedelta(seconds=1)


def test_render_html_is_what_to_html_returns() -> None:
    report = small_report()
    assert render_html(report) == report.to_html()


def test_huge_runs_leave_successes_out_of_the_timeline_never_failures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(html_view, "MAX_TIMELINE_ROWS", 200)
    report = dag_report(300, failures=10)
    assert len(report.errored) + len(report.skipped) < 200 < len(report.entries)
    root = parse(report.to_html())
    rows = timeline_rows(root)
    assert len(rows) == 200
    listed = {row_name(r) for r in rows}
    assert set(report.errored) | set(report.skipped) <= listed
    left_out = len(report.entries) - 200
    assert f"{left_out:,} successful tasks are not listed" in root.by_id("timeline").text()


def test_control_characters_from_tasks_are_shown_not_embedded() -> None:
    failing = make_entry(
        "t\x07",
        TaskStatus.ERRORED,
        error=make_error("t\x07", "ValueError: \x00nul \x1b[31m", traced_vars={"v": "\x0c"}),
        attempt_errors=("\x00a", "\x1bb"),
    )
    recovered = make_entry("r", attempts=2, attempt_errors=("E: \x00",))
    page = render_html(make_report(failing, recovered, name="run\x9b"))
    assert re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", page) is None
    assert "ValueError: \\x00nul \\x1b[31m" in page


# -- skips no failure caused -------------------------------------------------------------


def _one() -> int:
    return 1


def _boom() -> None:
    raise RuntimeError("boom")


def skip_paragraphs(root: Node) -> list[str]:
    return [
        " ".join(p.text().split())
        for p in root.by_id("failures").find_all("p")
        if "skipped" in p.text()
    ]


def node_titles(svg: ET.Element) -> dict[str, str]:
    titles = {}
    for name, g in graph_nodes(svg).items():
        title = g.find(f"{SVG}title")
        assert title is not None
        titles[name] = title.text or ""
    return titles


def test_a_healthy_run_with_a_compensation_skipped_blames_no_failure() -> None:
    tasks = [
        Task("load", _one),
        Task("compensate", _one, dependencies=[TaskDependency("load")], run_when="any_failed"),
        Task("report_refund", _one, dependencies=[TaskDependency("compensate")]),
    ]
    report = Process(tasks).run(parallel=False)
    assert report.entries["report_refund"].skip_reason is SkipReason.CONDITION_NOT_MET
    page = report.to_html()
    root = parse(page)
    assert "because of these failures" not in root.by_id("failures").text()
    assert skip_paragraphs(root) == [
        "2 tasks skipped, not because of a failure \u2014 nothing upstream failed: "
        "compensate, report_refund."
    ]
    rows = {row_name(r): r for r in timeline_rows(root)}
    for name in ("compensate", "report_refund"):
        assert rows[name].find_all("td")[0].text().endswith("skipped (nothing upstream failed)")
    svg = svg_of(page)
    assert not any(skip for _, _, skip in graph_edges(svg))  # no dashed "skipped because of"
    titles = node_titles(svg)
    assert titles["compensate"] == "compensate: skipped (nothing upstream failed)"
    assert titles["report_refund"] == "report_refund: skipped (nothing upstream failed)"


def test_fail_fast_skips_are_told_apart_from_the_failures_own() -> None:
    tasks = [
        Task("a", _boom),
        Task("b", _one, dependencies=[TaskDependency("a")]),
        Task("z", _one),
        Task("y", _one, dependencies=[TaskDependency("z")]),
    ]
    report = Process(tasks).run(parallel=False, fail_fast=True)
    assert report.entries["b"].skip_reason is SkipReason.UPSTREAM_FAILED
    assert report.entries["y"].skip_reason is SkipReason.FAIL_FAST
    page = report.to_html()
    root = parse(page)
    assert skip_paragraphs(root) == [
        "1 task skipped because of these failures; the timeline says which failure "
        "stopped each one.",
        "2 tasks skipped, not because of a failure \u2014 fail-fast: z, y.",
    ]
    svg = svg_of(page)
    assert [(a, b) for a, b, skip in graph_edges(svg) if skip] == [("a", "b")]
    titles = node_titles(svg)
    assert titles["b"] == "b: skipped, skipped because of a"
    assert titles["y"] == "y: skipped (fail-fast)"


def test_other_skips_are_grouped_by_reason_and_escaped() -> None:
    late = "<script>late</script>"
    report = make_report(
        make_entry("a"),
        replace(make_entry(late, TaskStatus.SKIPPED), skip_reason=SkipReason.DEADLINE),
        replace(
            make_entry("b", TaskStatus.SKIPPED, dependencies=("a",)),
            skip_reason=SkipReason.CONDITION_NOT_MET,
        ),
        replace(make_entry("c", TaskStatus.SKIPPED), skip_reason=SkipReason.DEADLINE),
    )
    page = report.to_html()
    assert "<script>" not in page
    assert skip_paragraphs(parse(page)) == [
        f"3 tasks skipped, not because of a failure \u2014 deadline: {late}, c; "
        "nothing upstream failed: b."
    ]


def test_skips_of_a_report_without_reasons_are_counted_as_the_failures_doing() -> None:
    # small_report's entries hold no skip_reason, as reports written before reasons did.
    report = small_report()
    assert all(e.skip_reason is None for e in report.skipped.values())
    root = parse(report.to_html())
    assert skip_paragraphs(root)[0].startswith("2 tasks skipped because of these failures")
    assert len(skip_paragraphs(root)) == 1
