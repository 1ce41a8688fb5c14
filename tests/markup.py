"""The words a reader of an HTML view sees (its text nodes), for tests that compare what
two views say. Imports the standard library only."""

from __future__ import annotations

from html.parser import HTMLParser


class _Words(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []

    def handle_data(self, data: str) -> None:
        self.words.extend(data.split())


def visible_words(markup: str) -> list[str]:
    parser = _Words()
    parser.feed(markup)
    return parser.words


def visible_text(markup: str) -> str:
    """The text nodes, their whitespace folded to single spaces."""
    return " ".join(visible_words(markup))
