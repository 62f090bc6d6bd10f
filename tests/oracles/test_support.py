"""The oracle venv's failure mode: without a package index it fails loudly, naming the way out."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.oracles import support


def test_venv_that_cannot_be_installed_fails_naming_the_skip_switch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(support, "VENV_DIR", tmp_path / "oracle-venv")
    # No index and an empty wheel folder: as on a machine without network.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "")
    with pytest.raises(support.OracleUnavailable, match=support.SKIP_ENV) as refused:
        support.ensure_venv()
    assert "linuxforhealth-x12==0.57.0" in str(refused.value)
    assert not (tmp_path / "oracle-venv" / "requirements.sha256").exists()


def test_batch_answers_keep_the_order_of_the_documents() -> None:
    (sample,) = [p for p in support.sample_files("270_005010X279A1") if "subscriber" in p.name]
    text = sample.read_text()
    outcomes = support.lfh_parse_batch([text, "not x12 at all", text])
    assert [o.ok for o in outcomes] == [True, False, True]
    assert outcomes[1].errors
    with pytest.raises(support.OracleRejected):
        support.lfh_parse("not x12 at all")
    assert support.lfh_parse(text)["header"]["st_segment"]["transaction_set_identifier_code"] == (
        "270"
    )
    assert support.pyx12_errors("not x12 at all")
