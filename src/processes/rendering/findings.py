"""A finding of the watch (§14) as every channel shows it: a sentence, a title, plain text,
an email's HTML, a webhook's JSON and each chat service's message, in six languages.

Pure: no I/O. Imports ``rendering.common``, ``rendering.locales``, ``rendering.email_html``
(the palettes) and ``rendering.chat`` (the escaping of each service); ``report.finding``
only for type checking.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from processes.outcome import TaskStatus
from processes.rendering.chat import (
    DISCORD_LIMITS,
    SLACK_LIMITS,
    _discord_inert,
    _discord_md,
    _fit_escaped,
    _fit_md,
    _rich,
    _slack_escape,
    _text_run,
    teams_card,
)
from processes.rendering.common import Markup, cut, escape, fill, format_duration, format_time
from processes.rendering.email_html import EMAIL_FONT, email_template
from processes.rendering.locales import FindingWords, finding_words, get_locale

if TYPE_CHECKING:
    from collections.abc import Mapping

    from processes.rendering.email_html import Palette
    from processes.report.finding import Finding

__all__ = [
    "FINDING_KIND",
    "finding_facts",
    "finding_sentence",
    "finding_title",
    "render_finding_discord",
    "render_finding_html",
    "render_finding_slack",
    "render_finding_teams",
    "render_finding_text",
    "render_finding_webhook",
]

#: The webhook payload's ``kind`` for a finding (a report's payload has none).
FINDING_KIND = "finding"
#: The longest process name and run id a finding shows: sizes stay bounded.
_NAME_CHARS = 200
_SENTENCE_CHARS = 1000


def _name(finding: Finding) -> str:
    return cut(finding.process_name or "?", _NAME_CHARS)


def _duration(seconds: float | None, language: str) -> str:
    return format_duration(seconds, get_locale(language)) if seconds is not None else "?"


def finding_sentence(finding: Finding, language: str = "en") -> str:
    """What is wrong, and since when, in one sentence of ``language``."""
    words = finding_words(language)
    started = finding.last_started_at if finding.last_started_at else finding.since
    text = words.sentences[finding.kind.value].format(
        name=_name(finding),
        run=cut(finding.run_id or "", _NAME_CHARS),
        since=format_time(finding.since),
        started=format_time(started),
        took=_duration(finding.last_seconds, language),
        limit=_duration(finding.limit_seconds, language),
    )
    return cut(text, _SENTENCE_CHARS)


def finding_title(finding: Finding, language: str = "en") -> str:
    """``Missed: nightly-etl``: the finding's words, then the process name (the subject)."""
    words = finding_words(language)
    return f"{words.titles[finding.kind.value]}: {_name(finding)}"


def finding_facts(finding: Finding, language: str = "en") -> list[tuple[str, str]]:
    """The facts around a finding, as (label, value) pairs: since when, the last run and
    its outcome, how long it took, the usual duration, the limit crossed, the check."""
    words = finding_words(language)
    facts = [(words.label_since, format_time(finding.since))]
    if finding.last_run_id is None:
        facts.append((words.label_last_run, words.no_run))
    else:
        started = f" ({format_time(finding.last_started_at)})" if finding.last_started_at else ""
        # The run the finding is about, or the last run before a missed one.
        label = words.label_run if finding.run_id == finding.last_run_id else words.label_last_run
        facts.append((label, cut(finding.last_run_id, _NAME_CHARS) + started))
        outcome = finding.last_outcome or ""
        facts.append((words.label_outcome, words.outcomes.get(outcome, outcome)))
        if finding.last_seconds is not None:
            facts.append((words.label_took, _duration(finding.last_seconds, language)))
    usual = (
        _duration(finding.usual_seconds, language)
        if finding.usual_seconds is not None
        else words.usual_unknown
    )
    facts.append((words.label_usual, usual))
    if finding.limit_seconds is not None:
        facts.append((words.label_limit, _duration(finding.limit_seconds, language)))
    if finding.checked_at is not None:
        facts.append((words.label_checked, format_time(finding.checked_at)))
    return facts


def render_finding_text(finding: Finding, language: str = "en") -> str:
    """The finding as plain text: its title, its sentence, then its facts, a line each."""
    words = finding_words(language)
    lines = [finding_title(finding, language), "", finding_sentence(finding, language), ""]
    facts = finding_facts(finding, language)
    width = max(len(label) for label, _ in facts)
    lines += [f"{label + ':':<{width + 1}} {value}" for label, value in facts]
    lines += ["", words.footer]
    return "\n".join(lines)


def _looks_bad(finding: Finding) -> bool:
    return finding.kind.value != "back"


_WRAP = "word-break:break-word;overflow-wrap:anywhere;"


def render_finding_html(finding: Finding, palette: Palette, language: str = "en") -> str:
    """The finding as an email's HTML, in the report email's page (``page.html``): nested
    presentation tables, inline styles and literal colours, long names wrapped, as the
    report's email is built for Gmail, Outlook and Apple Mail (NOTIFY.md A)."""
    words: FindingWords = finding_words(language)
    look = palette.of(TaskStatus.ERRORED if _looks_bad(finding) else TaskStatus.SUCCESS)
    rows = "".join(
        f'<tr><td valign="top" width="140" style="padding:5px 12px 5px 0;color:{palette.muted};'
        f'{_WRAP}">{escape(label)}</td>'
        f'<td valign="top" style="padding:5px 0;color:{palette.text};{_WRAP}">'
        f"{escape(value)}</td></tr>"
        for label, value in finding_facts(finding, language)
    )
    title = escape(finding_title(finding, language))
    table = (
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"'
        ' style="table-layout:fixed;">'
    )
    body = Markup(
        f'<tr><td bgcolor="{palette.header_bg}" style="padding:16px 20px;'
        f"background-color:{palette.header_bg};color:{palette.header_text};font-size:20px;"
        f'font-weight:bold;{_WRAP}">{title}</td></tr>'
        f'<tr><td style="padding:16px 20px 0 20px;">{table}<tr><td bgcolor="{look.soft}"'
        f' style="padding:12px 14px;background-color:{look.soft};color:{look.ink};'
        f'border-left:4px solid {look.solid};font-size:15px;line-height:1.5;{_WRAP}">'
        f"{escape(finding_sentence(finding, language))}</td></tr></table></td></tr>"
        f'<tr><td style="padding:16px 20px 4px 20px;color:{palette.text};font-size:16px;'
        f'font-weight:bold;">{escape(words.heading)}</td></tr>'
        f'<tr><td style="padding:0 20px 16px 20px;">{table}{rows}</table></td></tr>'
        f'<tr><td style="padding:12px 20px;border-top:1px solid {palette.border};'
        f'color:{palette.muted};font-size:12px;">{escape(words.footer)}</td></tr>'
    )
    page = fill(
        email_template("page"),
        lang=words.code,
        title=finding_title(finding, language),
        body=body,
        page_bg=Markup(palette.page_bg),
        card_bg=Markup(palette.card_bg),
        border=Markup(palette.border),
        text=Markup(palette.text),
        font=Markup(EMAIL_FONT),
    )
    return page + "\n"


def render_finding_webhook(
    finding: Finding,
    *,
    language: str = "en",
    nest_under: str | None = None,
    extra_payload: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The finding as a webhook's JSON: ``{"kind": "finding", "finding": {...}}``, the
    finding's fields (``Finding.to_dict()``) plus its ``title`` and ``text`` in
    ``language``. ``nest_under`` and ``extra_payload`` as for a report's payload."""
    fields = finding.to_dict()
    fields["title"] = finding_title(finding, language)
    fields["text"] = finding_sentence(finding, language)
    payload: dict[str, Any] = {"kind": FINDING_KIND, "finding": fields}
    if nest_under is not None:
        payload = {nest_under: payload}
    payload.update(extra_payload or {})
    return payload


def render_finding_slack(finding: Finding, *, language: str = "en") -> dict[str, Any]:
    """A Slack message: a header, the sentence, the facts; ``text`` for notifications."""
    title = _slack_escape(finding_title(finding, language))
    sentence = _slack_escape(finding_sentence(finding, language))
    facts = "\n".join(
        f"*{_slack_escape(label)}:* {_slack_escape(value)}"
        for label, value in finding_facts(finding, language)
    )
    section = SLACK_LIMITS["section_text"]
    return {
        "text": _fit_escaped(f"{title}\n{sentence}", section),
        "blocks": [
            {
                "type": "header",
                "text": {
                    "type": "plain_text",
                    "text": cut(finding_title(finding, language), SLACK_LIMITS["header_text"]),
                },
            },
            _mrkdwn(_fit_escaped(sentence, section)),
            _mrkdwn(_fit_escaped(facts, section)),
        ],
    }


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def render_finding_discord(finding: Finding, *, language: str = "en") -> dict[str, Any]:
    """A Discord message: one embed that cannot ping anyone."""
    limits = DISCORD_LIMITS
    colour = 0xDC2626 if _looks_bad(finding) else 0x16A34A
    fields = [
        {
            "name": _fit_md(_discord_md(label), limits["field_name"]),
            "value": _fit_md(_discord_md(value), limits["field_value"]),
            "inline": False,
        }
        for label, value in finding_facts(finding, language)
    ]
    embed = {
        "title": _fit_md(_discord_inert(finding_title(finding, language)), limits["title"]),
        "description": _fit_md(_discord_md(finding_sentence(finding, language)), 2000),
        "color": colour,
        "fields": fields,
    }
    return {
        "content": _fit_md(_discord_inert(finding_title(finding, language)), limits["content"]),
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    }


def render_finding_teams(finding: Finding, *, language: str = "en") -> dict[str, Any]:
    """A Teams Workflows message: one Adaptive Card, its texts read as plain text."""
    body: list[dict[str, Any]] = [
        _rich(
            _text_run(
                finding_title(finding, language),
                size="Large",
                weight="Bolder",
                color="Attention" if _looks_bad(finding) else "Good",
            )
        ),
        _rich(_text_run(finding_sentence(finding, language))),
    ]
    body += [
        _rich(_text_run(f"{label}: ", weight="Bolder"), _text_run(value), spacing="Small")
        for label, value in finding_facts(finding, language)
    ]
    return teams_card(body)
