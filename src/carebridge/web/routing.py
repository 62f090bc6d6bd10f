"""Route lookup by the path's fixed leading segments.

The app has several hundred routes and the router tries them in turn; a FHIR read came last
and spent most of its time being matched. ``SegmentRoutes`` sits first in the app's routes.
Each route is filed under the segments its path begins with before the first parameter
(``/fhir/R4/Patient/{id}`` under fhir, R4, Patient); a request tries only the routes filed
along its own path, in the order they were declared, and is handed to the one that matches:
the same answer the router would give, found among a handful of routes instead of all of
them. The routers stay included as well, so the schema, the access walk and ``url_for`` see
them as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

_CHOSEN = "carebridge.route"


@dataclass
class _Node:
    routes: list[tuple[int, Route]] = field(default_factory=list)  # (declared order, route)
    below: dict[str, _Node] = field(default_factory=dict)


def _fixed_segments(path: str) -> list[str]:
    found = []
    for segment in path.strip("/").split("/"):
        if "{" in segment:
            break
        found.append(segment)
    return found


class SegmentRoutes(BaseRoute):
    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self._root = _Node()
        for order, route in enumerate(routes):
            if not isinstance(route, Route):
                continue  # mounts and included routers: left to the app's own router
            node = self._root
            for segment in _fixed_segments(route.path):
                node = node.below.setdefault(segment, _Node())
            node.routes.append((order, route))

    def _candidates(self, path: str) -> list[Route]:
        found = list(self._root.routes)
        node = self._root
        for segment in path.strip("/").split("/"):
            child = node.below.get(segment)
            if child is None:
                break
            node = child
            found += node.routes
        found.sort(key=lambda pair: pair[0])
        return [route for _, route in found]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root + "/"):
            path = path[len(root) :]  # as Starlette's routes read it behind a proxy prefix
        partial: tuple[Route, Scope] | None = None
        for route in self._candidates(path):
            match, child = route.matches(scope)
            if match == Match.FULL:
                return Match.FULL, {**child, _CHOSEN: route}
            if match == Match.PARTIAL and partial is None:
                partial = (route, child)
        if partial is not None:
            return Match.PARTIAL, {**partial[1], _CHOSEN: partial[0]}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope.pop(_CHOSEN).handle(scope, receive, send)
