"""Application factory: routers, middleware, error handlers."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from carebridge import __version__
from carebridge.analytics import views as analytics_views
from carebridge.authorizations import api as authorizations_api
from carebridge.authorizations import views as authorizations_views
from carebridge.billing import api as billing_api
from carebridge.billing import views as billing_views
from carebridge.careplans import api as careplans_api
from carebridge.careplans import team_api, team_views
from carebridge.careplans import views as careplans_views
from carebridge.communications import api as communications_api
from carebridge.communications import views as communications_views
from carebridge.community import api as community_api
from carebridge.community import views as community_views
from carebridge.coverage import api as coverage_api
from carebridge.coverage import eligibility_api, eligibility_views
from carebridge.coverage import views as coverage_views
from carebridge.db.session import make_engine, make_sessionmaker
from carebridge.education import api as education_api
from carebridge.education import views as education_views
from carebridge.fhir import export_api as fhir_export_api
from carebridge.fhir import import_page as fhir_import_page
from carebridge.fhir import routes as fhir_routes
from carebridge.fhir import views as fhir_views
from carebridge.hub import api as hub_api
from carebridge.hub import views as hub_views
from carebridge.patients import api as patients_api
from carebridge.patients import terminology
from carebridge.patients import views as patients_views
from carebridge.referrals import api as referrals_api
from carebridge.referrals import views as referrals_views
from carebridge.registries import views as registries_views
from carebridge.reports import views as reports_views
from carebridge.scheduling import api as scheduling_api
from carebridge.scheduling import public_views as scheduling_public
from carebridge.scheduling import views as scheduling_views
from carebridge.security import api as security_api
from carebridge.security import views as security_views
from carebridge.settings import Settings
from carebridge.social import api as social_api
from carebridge.social import views as social_views
from carebridge.surveys import views as surveys_views
from carebridge.tasks import api as tasks_api
from carebridge.tasks import day as tasks_day
from carebridge.tasks import queues_api, queues_views, rules_api, rules_views
from carebridge.tasks import views as tasks_views
from carebridge.transitions import api as transitions_api
from carebridge.transitions import hl7_api
from carebridge.transitions import views as transitions_views
from carebridge.transport import api as transport_api
from carebridge.transport import views as transport_views
from carebridge.web import errors
from carebridge.web import views as web_views
from carebridge.web.middleware import BodyLimit, RequestContext, RequestIdFilter
from carebridge.web.routing import SegmentRoutes

# Every router the app serves; each route in them declares its access (see security.deps).
ROUTERS: tuple[APIRouter, ...] = (
    web_views.router,
    security_views.router,
    security_api.router,
    patients_api.router,
    patients_views.router,
    fhir_views.router,
    fhir_import_page.router,
    scheduling_api.router,
    scheduling_public.router,
    scheduling_views.router,  # after the public pages: their token paths stay theirs
    team_api.router,
    team_views.router,
    rules_api.router,
    queues_api.router,
    # before the task pages: /tasks/rules and /tasks/queues are not task ids
    rules_views.router,
    queues_views.router,
    tasks_api.router,
    tasks_day.router,
    tasks_views.router,
    careplans_api.router,
    careplans_views.router,
    referrals_api.router,
    referrals_views.router,
    coverage_api.router,
    coverage_views.router,
    eligibility_api.router,
    eligibility_views.router,
    authorizations_api.router,
    authorizations_views.router,
    billing_api.router,
    billing_views.router,
    hl7_api.router,
    transitions_api.router,
    transitions_views.router,
    hub_api.router,
    hub_views.router,
    communications_api.router,
    communications_views.router,
    education_api.router,
    education_views.router,
    social_api.router,
    social_views.router,
    community_api.router,
    community_views.router,
    transport_api.router,
    transport_views.router,
    analytics_views.router,
    registries_views.router,
    reports_views.router,
    surveys_views.router,
    fhir_export_api.router,  # before the resource routes: $export is not an id
    fhir_routes.router,
)
STATIC = Path(__file__).parent / "web" / "static"
LOG_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger("carebridge")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _warm() -> None:
    terminology.warm()
    # The index is ~600k long-lived objects: move them out of the collector's way so full
    # collections during busy searches stay short.
    gc.freeze()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Build the ICD-10-CM search index off the request path: the first coordinator to type
    # a problem should not wait the two seconds it takes.
    threading.Thread(target=_warm, name="icd10-warm", daemon=True).start()
    yield


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title="Carebridge",
        version=__version__,
        description="Care coordination API. Authenticate with `Authorization: Bearer <token>`.",
        docs_url=None,  # Swagger UI loads third-party script; the schema is enough
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=_lifespan,
    )
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)

    errors.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContext, on_error=errors.unexpected)

    for router in ROUTERS:
        app.include_router(router)
    declared = [*app.router.routes, *(r for router in ROUTERS for r in router.routes)]
    app.router.routes.insert(0, SegmentRoutes(declared))
    app.openapi = lambda: describe_api(app)  # type: ignore[method-assign]
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` and multi-process serving: settings from the
    environment, validated by the command that starts the server."""
    from carebridge.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)


PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def describe_api(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, telling the truth about authentication and error bodies."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {})
    components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    components.setdefault("schemas", {})["Problem"] = {
        "type": "object",
        "description": "RFC 9457 problem details",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "request_id": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
    }
    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = {"description": "Invalid input", "content": PROBLEM}
            if path.startswith("/api/"):
                operation["security"] = [{"bearer": []}]
                responses["401"] = {"description": "Missing or invalid token", "content": PROBLEM}
                responses["403"] = {"description": "Role lacks permission", "content": PROBLEM}
    for unused in ("HTTPValidationError", "ValidationError"):
        components["schemas"].pop(unused, None)
    app.openapi_schema = schema
    return schema


def operations() -> list[APIRoute]:
    """Every HTTP operation of the app, for the route-by-role test and documentation."""
    return [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]
