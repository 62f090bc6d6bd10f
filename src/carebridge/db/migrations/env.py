"""Alembic environment. The URL comes from the Alembic config (set by ``db.migrate``) or,
when run as plain ``alembic`` from the repository root, from Carebridge settings."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

# Every domain's models, so autogenerate and `alembic check` see the whole schema.
import carebridge.authorizations.models
import carebridge.billing.models
import carebridge.careplans.models
import carebridge.communications.models
import carebridge.community.models
import carebridge.coverage.models
import carebridge.db.history
import carebridge.education.models
import carebridge.fhir.models
import carebridge.hub.models
import carebridge.messaging.models
import carebridge.patients.models
import carebridge.referrals.models
import carebridge.registries.models
import carebridge.reports.models
import carebridge.scheduling.models
import carebridge.security.models
import carebridge.social.models
import carebridge.surveys.models
import carebridge.tasks.models
import carebridge.transitions.models
import carebridge.transport.models  # noqa: F401
from carebridge.db.base import Base, UtcDateTime
from carebridge.db.session import make_engine

url = context.config.get_main_option("sqlalchemy.url")
if not url:
    from carebridge.settings import get_settings

    url = get_settings().database_url


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Migrations spell our UTC timestamp as the plain column type it stores as."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


engine = make_engine(url, pool_size=1)
try:
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
finally:
    engine.dispose()
