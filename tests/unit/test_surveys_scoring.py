"""The survey's items, their validation and top boxes, the patient's language, the tokens."""

from __future__ import annotations

import datetime as dt
import hashlib

from carebridge.lib.time import parse_day
from carebridge.surveys import items, service


def _full(**changes: str) -> dict[str, str]:
    form = {
        "overall": "9",
        "recommend": "definitely-yes",
        "explained": "yes-somewhat",
        "listened": "yes-definitely",
        "timely": "no",
        "comment": "  Kind staff.  ",
    }
    form.update(changes)
    return form


def test_a_full_answer_is_cleaned() -> None:
    answers, errors = items.validate(_full())
    assert errors == {}
    assert answers == {
        "overall": 9,
        "recommend": "definitely-yes",
        "explained": "yes-somewhat",
        "listened": "yes-definitely",
        "timely": "no",
        "comment": "Kind staff.",
    }


def test_missing_and_unknown_answers_name_the_question() -> None:
    form = _full(overall="", listened="maybe", comment="")
    answers, errors = items.validate(form)
    assert set(errors) == {"overall", "listened"}
    assert errors["overall"] == (
        "Please choose an answer to: How would you rate the provider you saw at this visit?"
    )
    assert "paid close attention" in errors["listened"]
    assert "comment" not in answers  # optional, and blank
    assert answers["recommend"] == "definitely-yes"  # what was chosen is kept


def test_out_of_range_rating_and_long_comment_are_refused_in_spanish() -> None:
    answers, errors = items.validate(_full(overall="11", comment="x" * 2001), "es")
    assert errors["overall"].startswith("Por favor elija una de las respuestas")
    assert "¿Qué calificación" in errors["overall"]
    assert errors["comment"] == "Por favor escriba un comentario de menos de 2000 caracteres."
    assert "overall" not in answers


def test_top_boxes() -> None:
    assert [items.is_top_box(items.OVERALL, n) for n in (0, 8, 9, 10)] == [
        False,
        False,
        True,
        True,
    ]
    assert items.is_top_box(items.RECOMMEND, "definitely-yes")
    assert not items.is_top_box(items.RECOMMEND, "probably-yes")
    assert items.is_top_box(items.TIMELY, "yes-definitely")
    assert not items.is_top_box(items.TIMELY, "yes-somewhat")
    assert not items.is_top_box(items.LISTENED, None)
    assert [i.key for i in items.SCORED] == [
        "overall",
        "recommend",
        "explained",
        "listened",
        "timely",
    ]


def test_every_item_speaks_english_and_spanish() -> None:
    for item in items.ITEMS:
        assert set(item.text) == {"en", "es"}, item.key
        for option in item.options:
            assert set(option.text) == {"en", "es"}, (item.key, option.code)
    assert set(items.WORDS["en"]) == set(items.WORDS["es"])
    assert items.OVERALL.codes() == tuple(str(n) for n in range(11))


def test_language_follows_the_patient() -> None:
    assert items.language_for("es") == "es"
    assert items.language_for("es-MX") == "es"
    assert items.language_for("ES_us") == "es"
    assert items.language_for("vi") == "en"  # no Vietnamese survey yet: English
    assert items.language_for(None) == "en"


def test_tokens_are_random_and_stored_hashed() -> None:
    first, second = service.new_token(), service.new_token()
    assert first != second
    assert len(first) == 43  # 32 random bytes, URL-safe base64
    assert service.hash_token(first) == hashlib.sha256(first.encode()).hexdigest()
    assert service.hash_token(first) != first
    assert len(service.hash_token(first)) == 64


def test_filters_take_days_as_yyyy_mm_dd_only() -> None:
    assert parse_day("2026-01-31") == dt.date(2026, 1, 31)
    # date.fromisoformat takes these too on Python 3.11; the page does not.
    for typed in (
        "20260131",
        "2026-W05-1",
        "2026-1-31",
        "2026-01-31T00:00",
        " 2026-01-31",
        "٢٠٢٦-01-31",
    ):
        assert parse_day(typed) is None, typed
    assert parse_day("2026-02-30") is None  # no such day
    assert parse_day("") is None
