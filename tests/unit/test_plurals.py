"""Every count a reader sees agrees with its noun, in all six languages ("1 task", "0 tâche").

Plural rules from Unicode CLDR: French and Portuguese use the singular for 0 and 1; English,
Spanish, German and Italian for 1 alone.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from factories import make_entry, make_error, make_report
from processes import HTMLEmailStyle, TaskStatus
from processes.rendering.chat import render_discord, render_slack, render_teams
from processes.rendering.email_html import render_email_html
from processes.rendering.html import render_html
from processes.rendering.locales import LANGUAGES, Plural, get_locale, is_singular
from processes.rendering.text import render_text

# Plural words that must never follow a count that takes the singular.
PLURAL_WORDS = {
    "en": ["tasks", "lines", "characters", "variables", "attempts", "runs", "dependencies",
           "items"],
    "es": ["tareas", "líneas", "caracteres", "variables", "correctas", "fallidas", "omitidas",
           "intentos", "ejecuciones", "tareas fallidas", "elementos", "correctos", "fallidos",
           "omitidos"],
    "pt": ["tarefas", "linhas", "caracteres", "variáveis", "concluídas", "ignoradas",
           "tentativas", "execuções", "itens", "ignorados"],
    "fr": ["tâches", "lignes", "caractères", "variables", "réussies", "ignorées", "autres",
           "tentatives", "exécutions", "éléments", "réussis", "ignorés"],
    "de": ["Aufgaben", "weitere Zeilen", "weitere Variablen", "Versuche", "Läufe",
           "weitere fehlgeschlagene Aufgaben", "Elemente", "Elementen"],
    "it": ["riuscite", "fallite", "saltate", "altre", "altri", "righe", "tentativi",
           "esecuzioni", "elementi", "riusciti", "falliti", "saltati"],
}  # fmt: skip


def disagreements(language: str, text: str) -> list[str]:
    """Each "N words" in ``text`` where N takes the singular but the words are plural."""
    found = []
    for word in PLURAL_WORDS[language]:
        for match in re.finditer(rf"(?<![\d.,\u202f ])(\d+) {re.escape(word)}(?!\w)", text):
            if is_singular(language, int(match[1])):
                found.append(match[0])
    return found


def one_of_each() -> Any:
    """Two tasks: one failed (one attempt, one line of traceback left out), one skipped."""
    traceback = "Traceback (most recent call last):\n" + "  line\n" * 400 + "ValueError: x"
    return make_report(
        make_entry(
            "load",
            TaskStatus.ERRORED,
            error=make_error("load", "ValueError: x", traceback=traceback, downstream=("send",)),
        ),
        make_entry("send", TaskStatus.SKIPPED),
    )


def a_single_task() -> Any:
    return make_report(make_entry("only"))


def a_single_failure() -> Any:
    return make_report(make_entry("only", TaskStatus.ERRORED, error=make_error("only")))


def strings(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


REPORTS = {"one_of_each": one_of_each, "single_task": a_single_task, "single": a_single_failure}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("make", REPORTS.values(), ids=list(REPORTS))
def test_chat_messages_agree_with_their_counts(language: str, make: Any) -> None:
    report = make()
    for render in (render_slack, render_discord, render_teams):
        text = strings(render(report, language=language))
        assert disagreements(language, text) == [], render.__name__


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("make", REPORTS.values(), ids=list(REPORTS))
def test_email_and_text_agree_with_their_counts(language: str, make: Any) -> None:
    report = make()
    html = render_email_html(report, style=HTMLEmailStyle(language=language))
    text = render_text(report, language=language, color=False)
    assert disagreements(language, html) == []
    assert disagreements(language, text) == []


@pytest.mark.parametrize("make", REPORTS.values(), ids=list(REPORTS))
def test_the_page_agrees_with_its_counts(make: Any) -> None:
    page = render_html(make())
    assert disagreements("en", page) == []
    assert "task(s)" not in page


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("count", [0, 1, 2, 1000])
def test_every_counted_word_takes_the_form_its_count_needs(language: str, count: int) -> None:
    words = get_locale(language)
    counted = {"n", "total", "shown", "failed", "skipped", "succeeded", "errored"}
    for name in words.__dataclass_fields__:
        value = getattr(words, name)
        if not isinstance(value, str) or name.endswith(("_one", "_many")):
            continue  # a pair of forms is chosen by attempts(), runs(), some_failed()
        fields = {key: count if key in counted else "x" for key in re.findall(r"\{(\w+)", value)}
        said = value.format(**fields)
        assert disagreements(language, said) == [], (name, said)
    assert disagreements(language, words.attempts(count)) == []
    assert disagreements(language, words.runs(count)) == []
    assert disagreements(language, words.some_failed(count, count) if count else "") == []


def test_a_plural_picks_by_its_own_count_and_reads_grouped_digits() -> None:
    template = Plural("{total} {total|task|tasks}, {n} {n|line|lines}", "en")
    assert template.format(total="1", n=2) == "1 task, 2 lines"
    assert template.format(total="1,000", n=1) == "1,000 tasks, 1 line"
    assert Plural("{n} {n|tâche|tâches}", "fr").format(n=0) == "0 tâche"
    assert Plural("{n} {n|task|tasks}", "en").format(n=0) == "0 tasks"


def test_the_words_a_user_saw_wrong_are_gone() -> None:
    report = a_single_failure()
    for language, wrong in (("en", "1 tasks"), ("de", "1 Aufgaben"), ("fr", "1 tâches")):
        for render in (render_slack, render_discord, render_teams):
            assert wrong not in strings(render(report, language=language))
