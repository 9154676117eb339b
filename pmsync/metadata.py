"""Typed models of the descriptive data of a market: its metadata, team and subject.

Part of the models of :mod:`pmsync.models` (which re-exports them): field names
are the snake_case wire names, every field is optional, enum fields hold the
member or the raw value, ``extra`` keeps the fields this version does not model.
"""

from __future__ import annotations

import attrs

from .enums import DataProvider, ImageDisplayType
from .extra import Extra, extra_field

__all__ = ["MarketMetadata", "ResolvedColor", "Subject", "Team", "TeamProvider"]


@attrs.frozen(slots=True, kw_only=True)
class ResolvedColor:
    """Display colours for light and dark mode."""

    light: str | None = None
    dark: str | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class TeamProvider:
    """A team's identity at one sports-data provider."""

    provider: DataProvider | int | str | None = None
    provider_id: str | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class Team:
    """A sports team a market is about."""

    id: int | None = None
    name: str | None = None
    abbreviation: str | None = None
    league: str | None = None
    record: str | None = None
    logo: str | None = None
    alias: str | None = None
    safe_name: str | None = None
    home_icon: str | None = None
    away_icon: str | None = None
    color_primary: str | None = None
    provider_id: int | None = None
    ordering: str | None = None
    long_icon: str | None = None
    short_icon: str | None = None
    display_abbreviation: str | None = None
    ranking: str | None = None
    conference: str | None = None
    provider_ids: tuple[TeamProvider, ...] = ()
    long_icon_dark: str | None = None
    short_icon_dark: str | None = None
    color: ResolvedColor | None = None
    image_display_type: ImageDisplayType | int | str | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class Subject:
    """The subject (person, entity) a market or combo leg is about."""

    id: int | None = None
    name: str | None = None
    display_name: str | None = None
    description: str | None = None
    subject_type: str | None = None
    image: str | None = None
    color: str | None = None
    dark_color: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    slug: str | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class MarketMetadata:
    """Descriptive data of the market an order or position belongs to."""

    slug: str | None = None
    icon: str | None = None
    title: str | None = None
    outcome: str | None = None
    event_slug: str | None = None
    team_id: int | None = None
    team: Team | None = None
    subject: Subject | None = None
    event_id: str | None = None
    extra: Extra = extra_field()
