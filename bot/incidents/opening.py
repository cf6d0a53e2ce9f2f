"""What a new incident looks like when its first page opens it, and who it mentions."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.incidents.grouping import value_of
from bot.incidents.ingest_plan_types import NewIncident
from bot.incidents.models import TRIGGERED, Incident
from bot.incidents.routing import Destination, mention_text
from bot.oncall.config import Rotation
from bot.oncall.pagerduty import ScheduleUnavailable
from bot.oncall.roster import is_slack_user
from bot.runtime import Runtime
from integrations.pages import Page

log = logging.getLogger(__name__)


class Mentions:
    """Who a destination mentions now: its users and groups, and the on-call of its
    rotation (looked up once per transaction)."""

    def __init__(self, rt: Runtime, session: AsyncSession, now: datetime) -> None:
        self._rt = rt
        self._session = session
        self._now = now
        self._oncall: dict[str, str | None] = {}

    async def on_call(self, rotation_name: str | None) -> str | None:
        if rotation_name is None:
            return None
        if rotation_name not in self._oncall:
            rotation = self._rt.config.oncall.rotation(rotation_name)
            if rotation is None:
                log.warning("route names unknown on-call rotation %r", rotation_name)
                self._oncall[rotation_name] = None
            else:
                self._oncall[rotation_name] = await self._look_up(rotation)
        return self._oncall[rotation_name]

    async def _look_up(self, rotation: Rotation) -> str | None:
        try:
            # Inside ingest's transaction: the cached schedule only, never a PagerDuty call.
            roster = await self._rt.rosters.cached(self._session, rotation, self._now)
        except ScheduleUnavailable as exc:
            log.warning("on-call of %s unknown: %s", rotation.name, exc)
            return None
        person = roster.on_call(self._now)
        # Someone PagerDuty names but app.yaml does not map to Slack cannot be mentioned.
        return person if person is not None and is_slack_user(person) else None

    async def text(self, destination: Destination) -> str:
        ids = list(destination.mention_ids)
        person = await self.on_call(destination.oncall)
        if person is not None and person not in ids:
            ids.append(person)
        return mention_text(ids)[:500]


def escalation_due(destination: Destination, now: datetime) -> datetime | None:
    minutes = destination.escalate_after_minutes
    return now + timedelta(minutes=minutes) if minutes > 0 else None


def storm_key_of(label: str, page: Page) -> str | None:
    value = value_of(page, label)
    return f"{label}={value}"[:200] if value else None


def draft_incident(new: NewIncident, now: datetime, *, storm_id: int | None) -> Incident:
    page, destination = new.page.page, new.destination
    return Incident(
        group_hash=new.page.group_hash,
        group_key=new.page.group_key,
        open_key=new.page.group_hash,
        status=TRIGGERED,
        title=page.title,
        severity=page.severity,
        source=page.source,
        service=page.service,
        kind=page.kind,
        region=page.labels.get("region"),
        summary=page.summary or page.description,
        runbook_url=page.runbook_url,
        source_url=page.source_url,
        labels=json.dumps(page.labels, sort_keys=True),
        channel=destination.channel,
        route=destination.route,
        mentions=new.mentions,
        page_count=0,
        firing_count=0,
        opened_at=now,
        updated_at=now,
        reopened_count=0,
        # Folded into a storm: its thread speaks for it, and it escalates as a whole.
        has_thread=not new.folded,
        storm_id=storm_id,
        storm_key=new.storm_key,
        escalations=0,
        next_escalation_at=None if new.folded else escalation_due(destination, now),
        # The fleet's view is fetched after commit; this makes the sweep catch it up if
        # the follow-up task dies with its replica.
        fleet_due_at=now + timedelta(seconds=15) if page.service else None,
    )


def reopen(incident: Incident, destination: Destination | None, now: datetime) -> None:
    incident.status = TRIGGERED
    incident.open_key = incident.group_hash
    incident.resolved_at = None
    incident.resolved_by = None
    incident.acknowledged_at = None
    incident.acknowledged_by = None
    incident.reopened_count += 1
    incident.escalations = 0
    incident.next_escalation_at = (
        escalation_due(destination, now)
        if destination is not None and incident.has_thread
        else None
    )
    if incident.service:
        incident.fleet_due_at = now + timedelta(seconds=15)
