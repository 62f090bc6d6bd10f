"""Reading grade and markdown-lite of education materials, with no database: the starter set
reads at grade 6 or below, hard text is flagged, the glossary finds what people type, and
the text is rendered escaped."""

from __future__ import annotations

import pytest

from carebridge.careplans import library
from carebridge.education import glossary, readability, starter

HARD = (
    "Congestive cardiac decompensation necessitates meticulous pharmacological "
    "optimization, comprehensive interdisciplinary surveillance, and individualized "
    "nutritional modification, particularly concerning sodium consumption and fluid intake."
)


@pytest.mark.parametrize("material", starter.STARTERS, ids=lambda s: s.code)
def test_starter_materials_read_at_grade_6_or_below(material: starter.Starter) -> None:
    value = readability.grade(material.body, material.language)
    assert value is not None
    assert value <= readability.PLAIN_GRADE, f"{material.code} reads at grade {value}"


def test_starter_set_covers_every_care_plan_template_and_two_spanish() -> None:
    for template in library.TEMPLATES.values():
        for problem in template.problems:
            assert any(
                problem.code.replace(".", "").startswith(tag)
                for s in starter.STARTERS
                if s.language == "en"
                for tag in s.tags
            ), f"no English material for {problem.code} ({template.key})"
    spanish = {tag for s in starter.STARTERS if s.language == "es" for tag in s.tags}
    assert len(spanish) >= 2
    assert len({s.code for s in starter.STARTERS}) == len(starter.STARTERS)


def test_hard_text_is_above_grade_6_and_flagged() -> None:
    value = readability.grade(HARD, "en")
    assert value is not None
    assert value > 6
    assert readability.above_plain(value)
    assert not readability.above_plain(readability.grade("Take your pills each day.", "en"))
    assert readability.grade("", "en") is None


def test_markdown_lite_is_escaped() -> None:
    html = str(readability.render("## Hi <b>\n- a **b**\n\n<script>alert(1)</script>"))
    assert "<h3>Hi &lt;b&gt;</h3>" in html
    assert "<li>a <strong>b</strong></li>" in html
    assert "<script>" not in html


def test_glossary_has_sixty_terms_and_finds_plain_words() -> None:
    assert len(glossary.TERMS) >= 60
    assert glossary.search("hypertension")[0].plain == "High blood pressure."
    assert glossary.search("high blood pressure")[0].term == "Hypertension"
    assert [t.term for t in glossary.search("CHF")] == ["Heart failure"]
    assert glossary.search("   ") == []
