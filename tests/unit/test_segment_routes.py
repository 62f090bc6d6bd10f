"""The segment index picks the route the app's own router would: for every declared path and
method, the first route in declaration order that matches fully, else the first partial."""

from __future__ import annotations

import re

from starlette.routing import Match, Route

from carebridge.app import ROUTERS
from carebridge.web.routing import SegmentRoutes

ROUTES = [r for router in ROUTERS for r in router.routes if isinstance(r, Route)]


def _linear(scope: dict[str, object]) -> tuple[Match, Route | None]:
    partial = None
    for route in ROUTES:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return match, route
        if match == Match.PARTIAL and partial is None:
            partial = route
    return (Match.PARTIAL, partial) if partial else (Match.NONE, None)


def _scope(path: str, method: str) -> dict[str, object]:
    return {"type": "http", "path": path, "method": method, "root_path": ""}


def _sample(path: str) -> str:
    """The declared path with each parameter filled the way a client would."""
    return re.sub(r"\{[^}]+\}", "0b8c2c1e-1a2b-4c3d-8e9f-000000000001", path)


def test_every_declared_path_and_method_goes_where_the_router_sends_it() -> None:
    index = SegmentRoutes(ROUTES)
    checked = 0
    for route in ROUTES:
        for method in ("GET", "POST", "PUT", "DELETE"):
            scope = _scope(_sample(route.path), method)
            expected_match, expected = _linear(scope)
            match, child = index.matches(scope)
            assert match == expected_match, (route.path, method)
            if expected is not None:
                assert child["carebridge.route"] is expected, (route.path, method)
            checked += 1
    assert checked > 1000


def test_unknown_paths_and_other_scopes_are_left_to_the_router() -> None:
    index = SegmentRoutes(ROUTES)
    assert index.matches(_scope("/no/such/page", "GET"))[0] == Match.NONE
    assert index.matches({"type": "websocket", "path": "/fhir/R4/metadata"})[0] == Match.NONE


def test_a_fhir_read_is_found_among_a_few_routes_not_all() -> None:
    index = SegmentRoutes(ROUTES)
    tried = index._candidates("/fhir/R4/Patient/abc")
    assert len(tried) < 25 < len(ROUTES)
    assert any(r.path == "/fhir/R4/Patient/{resource_id}" for r in tried)


def test_behind_a_root_path_the_prefix_is_not_part_of_the_route() -> None:
    index = SegmentRoutes(ROUTES)
    scope = {**_scope("/carebridge/fhir/R4/metadata", "GET"), "root_path": "/carebridge"}
    match, child = index.matches(scope)
    assert match == Match.FULL
    assert child["carebridge.route"].path == "/fhir/R4/metadata"
