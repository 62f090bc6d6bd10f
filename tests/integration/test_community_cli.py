"""`carebridge resources import`: a good HSDS folder is imported and said in one line; a row
missing a required field is named and nothing of the folder is imported."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.community.models import ResourceService
from carebridge.db.session import unit_of_work
from tests.integration.test_cli import SECRET_ENV, run

BASIC = Path(__file__).resolve().parents[1] / "data" / "hsds" / "basic"


def _services(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory, write=False) as db:
        return int(db.scalar(select(func.count()).select_from(ResourceService)) or 0)


def test_import_command(db_url: str, factory: sessionmaker[Session], tmp_path: Path) -> None:
    env = {**SECRET_ENV, "CAREBRIDGE_DATABASE_URL": db_url}
    broken = tmp_path / "broken"
    shutil.copytree(BASIC, broken)
    services = broken / "services.csv"
    lines = services.read_text().splitlines()
    header = lines[0].split(",")
    first = lines[1].split(",")
    first[header.index("name")] = ""  # a service without its required name
    services.write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n")
    before = _services(factory)
    refused = run(["resources", "import", str(broken)], env=env)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "services.csv" in refused.stderr
    assert "name" in refused.stderr
    assert _services(factory) == before

    done = run(["resources", "import", str(BASIC)], env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Imported ")
    imported = _services(factory)
    assert imported >= max(before, len(lines) - 1)
    again = run(["resources", "import", str(BASIC)], env=env)
    assert again.returncode == 0, again.stderr
    assert _services(factory) == imported  # the same HSDS ids: updated, not added

    missing = run(["resources", "import", str(tmp_path / "nowhere")], env=env)
    assert missing.returncode == 2
    assert "no such file or folder" in missing.stderr
