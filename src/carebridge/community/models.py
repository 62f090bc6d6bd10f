"""The community resources directory, modelled on Open Referral HSDS (organization, service,
location, service_at_location, phone, schedule, language), and the link between a referral
and the community service it sent the patient to.

Each directory row keeps its HSDS ``id`` (``hsds_id``) so a re-import updates it in place.
A service also carries the need domains it meets (``needs``): mapped from its HSDS taxonomy
terms and name at import, or set by hand (``needs_by_hand``; a re-import then leaves them).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, Time
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db.base import Base, Tracked, UuidPk


class ResourceOrganization(UuidPk, Tracked, Base):
    """HSDS organization: who delivers services. ``provider_id`` is its entry in the outside
    provider directory, made when the first patient is referred to it."""

    __tablename__ = "resource_organizations"

    hsds_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    alternate_name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(300))
    provider_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("outside_providers.id"))


class ResourceService(UuidPk, Tracked, Base):
    """HSDS service: what an organization offers, with the need domains it meets."""

    __tablename__ = "resource_services"

    hsds_id: Mapped[str] = mapped_column(String(100), unique=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("resource_organizations.id"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), index=True)
    alternate_name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(16), default="active")
    # Need domain codes (codes.NEEDS), e.g. ["food", "housing"].
    needs: Mapped[list[str]] = mapped_column(JSON, default=list)
    needs_by_hand: Mapped[bool] = mapped_column(Boolean, default=False)
    # HSDS taxonomy terms as received: [{"code": "BD-1800.2000", "name": "Food Pantries"}]
    taxonomy: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)


class ResourceLocation(UuidPk, Tracked, Base):
    """HSDS location with its physical address and coordinates (WGS84), when known."""

    __tablename__ = "resource_locations"

    hsds_id: Mapped[str] = mapped_column(String(100), unique=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("resource_organizations.id"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    address_1: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(40))
    postal_code: Mapped[str | None] = mapped_column(String(16))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)


class ResourceServiceLocation(UuidPk, Base):
    """HSDS service_at_location: a service delivered at a location."""

    __tablename__ = "resource_service_locations"
    __table_args__ = (Index("ix_resource_service_locations_pair", "service_id", "location_id"),)

    hsds_id: Mapped[str] = mapped_column(String(100), unique=True)
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("resource_services.id"))
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("resource_locations.id"), index=True)


class ResourcePhone(UuidPk, Base):
    """HSDS phone of an organization, service or location."""

    __tablename__ = "resource_phones"

    hsds_id: Mapped[str] = mapped_column(String(100), unique=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("resource_organizations.id"), index=True
    )
    service_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("resource_services.id"), index=True
    )
    location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("resource_locations.id"), index=True
    )
    number: Mapped[str] = mapped_column(String(40))
    extension: Mapped[str | None] = mapped_column(String(10))
    kind: Mapped[str | None] = mapped_column(String(20))  # HSDS phone.type


class ResourceSchedule(UuidPk, Base):
    """One weekly opening (HSDS regular_schedule, or one weekday of an HSDS 3.0 weekly
    schedule): ``weekday`` 1 = Monday ... 7 = Sunday, local wall-clock times."""

    __tablename__ = "resource_schedules"
    __table_args__ = (
        Index("ix_resource_schedules_hsds", "hsds_id", "weekday", unique=True),
        Index("ix_resource_schedules_service", "service_id", "weekday"),
    )

    hsds_id: Mapped[str] = mapped_column(String(100))
    service_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("resource_services.id"))
    location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("resource_locations.id"), index=True
    )
    weekday: Mapped[int] = mapped_column(Integer)
    opens_at: Mapped[dt.time] = mapped_column(Time)
    closes_at: Mapped[dt.time] = mapped_column(Time)
    description: Mapped[str | None] = mapped_column(Text)


class ResourceLanguage(UuidPk, Base):
    """HSDS language a service (or location) is offered in; ``code`` is ISO 639-1 when known."""

    __tablename__ = "resource_languages"

    hsds_id: Mapped[str] = mapped_column(String(100), unique=True)
    service_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("resource_services.id"), index=True
    )
    location_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("resource_locations.id"), index=True
    )
    code: Mapped[str | None] = mapped_column(String(16), index=True)
    name: Mapped[str | None] = mapped_column(String(100))


class CommunityReferral(Tracked, Base):
    """A referral (``referrals.Referral``) to a community service: which service and
    location, for which need, and how many days the organization has to confirm before a
    follow-up task is raised."""

    __tablename__ = "community_referrals"

    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referrals.id"), primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("resource_services.id"), index=True)
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("resource_locations.id"))
    need: Mapped[str | None] = mapped_column(String(24))
    confirm_within_days: Mapped[int] = mapped_column(Integer, default=7)
    confirmed_at: Mapped[dt.datetime | None]
    # "phone" (recorded by a coordinator) or "api" (posted by the organization).
    confirmed_via: Mapped[str | None] = mapped_column(String(8))
    confirmation_note: Mapped[str | None] = mapped_column(Text)
