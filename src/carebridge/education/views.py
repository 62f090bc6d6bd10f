"""The screens of education."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)  # pages, not API
