"""Reading grade of a material and the markdown-lite its text is written in.

The grade is the Flesch-Kincaid grade level computed by ``textstat`` (syllables counted with
the CMU dictionary for English and Pyphen's hyphenation for Spanish). Plain-language
guidance asks for grade 6 or below; anything above is flagged on the library.

Markdown-lite: a blank line starts a new paragraph, ``## `` starts a heading, ``- `` a list
item, ``**words**`` are bold. Everything else is text: it is escaped, never trusted as HTML.
"""

from __future__ import annotations

import functools
import re
import threading

import textstat  # type: ignore[import-untyped]
from markupsafe import Markup, escape

PLAIN_GRADE = 6.0
LANGUAGES = {"en": "en_US", "es": "es"}

_LOCK = threading.Lock()
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_MARKS = re.compile(r"^\s*(?:#{1,6}\s+|[-*]\s+)", re.MULTILINE)


@functools.cache
def _counter(language: str) -> object:
    counter = textstat.textstat.__class__()
    counter.set_lang(LANGUAGES.get(language, "en_US"))
    return counter


def plain_text(body: str) -> str:
    """The words of a markdown-lite body as a reader meets them: marks dropped, each heading
    and list item its own sentence, the lines of a paragraph joined."""
    out: list[str] = []
    para: list[str] = []

    def sentence(words: str) -> str:
        return words if words[-1] in ".!?:" else f"{words}."

    for line in body.splitlines():
        marked = _MARKS.match(line) is not None
        words = _BOLD.sub(r"\1", _MARKS.sub("", line)).strip()
        if marked or not words:
            if para:
                out.append(sentence(" ".join(para)))
                para.clear()
            if words:
                out.append(sentence(words))
        else:
            para.append(words)
    if para:
        out.append(sentence(" ".join(para)))
    return "\n".join(out)


def grade(body: str | None, language: str = "en") -> float | None:
    """Flesch-Kincaid grade of the text, one decimal; None when there is no text."""
    text = plain_text(body or "")
    if not text.strip():
        return None
    with _LOCK:  # textstat caches per call; one counter at a time
        value = float(_counter(language).flesch_kincaid_grade(text))  # type: ignore[attr-defined]
    return round(max(value, 0.0), 1)


def above_plain(value: float | None) -> bool:
    return value is not None and value > PLAIN_GRADE


def render(body: str | None) -> Markup:
    """Markdown-lite as safe HTML: every piece of text escaped first."""
    out: list[str] = []
    items: list[str] = []
    para: list[str] = []

    def inline(text: str) -> str:
        return _BOLD.sub(r"<strong>\1</strong>", str(escape(text)))

    def close() -> None:
        if para:
            out.append(f"<p>{inline(' '.join(para))}</p>")
            para.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for raw in (body or "").splitlines():
        line = raw.strip()
        if not line:
            close()
        elif line.startswith("#"):
            close()
            out.append(f"<h3>{inline(line.lstrip('#').strip())}</h3>")
        elif line[:2] in ("- ", "* "):
            if para:
                out.append(f"<p>{inline(' '.join(para))}</p>")
                para.clear()
            items.append(line[2:].strip())
        else:
            if items:
                close()
            para.append(line)
    close()
    return Markup("\n".join(out))  # noqa: S704 - built from escaped text only
