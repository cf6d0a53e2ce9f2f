"""The demo's monitoring: faults raised in the simulated fleet now and then, each paged to
the bot the way Alertmanager would (a webhook v4 delivery to its own `/hooks/alertmanager`),
and resolved once the fleet reports the service healthy again (after a repair action).

`make demo` shows the first incident thread within `demo.first_page_seconds`; the console
line `/page <service> [alertname]` raises one on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from bot.runtime import Runtime
from integrations.alertmanager import parse_webhook
from integrations.fleet.errors import FleetError
from integrations.fleet.models import Service
from integrations.pages import PageBatch

log = logging.getLogger(__name__)

# alertname -> (kinds it applies to, severity, what the simulator breaks, summary)
FAULTS: dict[str, tuple[tuple[str, ...], str, str, str]] = {
    "PostgresReplicationLag": (("postgres",), "warning", "lag", "Replica {member} is far behind"),
    "PostgresReplicaDown": (("postgres",), "critical", "down", "Replica {member} is down"),
    "RedisReplicaDown": (("redis",), "critical", "down", "Replica {member} is down"),
    "KafkaBrokerDown": (("kafka",), "critical", "down", "Broker {member} is down"),
}
LAG_BYTES = 512 * 1024 * 1024
HEAL_CHECK_SECONDS = 10.0


@dataclass
class Firing:
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    fingerprint: str


class DemoPager:
    def __init__(
        self, rt: Runtime, bot_url: str, simulator_url: str | None, *, seed: int = 11
    ) -> None:
        self._rt = rt
        self._hook = bot_url.rstrip("/") + "/hooks/alertmanager"
        self._sim = simulator_url.rstrip("/") if simulator_url else None
        intake = rt.config.intake.alertmanager
        tokens = intake.auth.bearer_tokens if intake is not None and intake.enabled else []
        self._token = tokens[0].get_secret_value() if tokens else None
        self._http = httpx.AsyncClient(timeout=10.0)
        self._rng = random.Random(seed)
        self._firing: dict[str, Firing] = {}

    async def aclose(self) -> None:
        await self._http.aclose()

    async def console_line(self, text: str) -> str:
        """`/page <service> [alertname]` from the console; raises ValueError on bad input."""
        words = text.split()
        if not 1 <= len(words) <= 2:
            raise ValueError("usage: /page <service> [alertname]")
        service = await self._service(words[0])
        alertname = words[1] if len(words) == 2 else self._fault_for(service)
        return await self.page(service, alertname)

    async def page(self, service: Service, alertname: str) -> str:
        """Break the service the way the alert says (when the simulator knows how), then
        page the bot with it."""
        _kinds, severity, breakage, summary = FAULTS.get(
            alertname, ((service.kind,), "high", "", f"{alertname} on {{member}}")
        )
        member = self._victim(service)
        if self._sim is not None and breakage:
            body: dict[str, Any] = {"service": service.name, "member": member}
            if breakage == "lag":
                body["lag_bytes"] = LAG_BYTES
            answer = await self._http.post(self._sim + "/_sim/degrade", json=body)
            answer.raise_for_status()
        labels = {
            "alertname": alertname,
            "service": service.name,
            "kind": service.kind,
            "region": service.region,
            "member": member,
            "severity": severity,
        }
        annotations = {
            "summary": summary.format(member=member),
            "runbook_url": f"https://runbooks.example.com/{service.kind}/{alertname.lower()}",
        }
        alert = Firing(labels, annotations, datetime.now(UTC), _fingerprint(labels))
        self._firing[alert.fingerprint] = alert
        await self._deliver(alert, "firing")
        return f"(Alertmanager pages the bot: {alertname} on {service.name}, {member})"

    async def raise_fault(self, alertname: str | None = None) -> str:
        """Break a healthy service at random; with `alertname`, one that alert applies to."""
        candidates = [s for s in await self._rt.fleet.list_services() if s.health == "healthy"]
        if alertname is not None and alertname in FAULTS:
            kinds = FAULTS[alertname][0]
            candidates = [s for s in candidates if s.kind in kinds]
        if not candidates:
            return "(no healthy service left to break)"
        service = await self._rt.fleet.get_service(self._rng.choice(candidates).name)
        return await self.page(service, alertname or self._fault_for(service))

    async def resolve_healed(self) -> int:
        """Send `resolved` for every alert whose service the fleet reports healthy."""
        healed = 0
        for fingerprint, alert in list(self._firing.items()):
            try:
                service = await self._rt.fleet.get_service(alert.labels["service"])
            except FleetError:
                continue
            if service.health == "healthy":
                await self._deliver(alert, "resolved")
                del self._firing[fingerprint]
                healed += 1
        return healed

    async def run_forever(self, first_after: float, every: float) -> None:
        """The demo's background monitoring; every failure is logged and the loop goes on."""
        next_fault = first_after
        fault = self._rt.config.demo.first_fault
        while True:
            await asyncio.sleep(min(HEAL_CHECK_SECONDS, max(0.0, next_fault)))
            next_fault -= HEAL_CHECK_SECONDS
            with contextlib.suppress(Exception):
                await self.resolve_healed()
            if next_fault <= 0:
                try:
                    log.info("%s", await self.raise_fault(fault))
                except Exception:
                    log.exception("the demo could not raise a fault")
                next_fault, fault = every, None

    async def _deliver(self, alert: Firing, status: str) -> None:
        body = json.dumps(_webhook(alert, status)).encode()
        if self._token is None:
            # No Alertmanager intake configured: the same pages, straight to the sink.
            sink = self._rt.hooks.page_sink
            if sink is not None:
                await sink(self._rt, PageBatch(pages=parse_webhook(body).pages))
            return
        answer = await self._http.post(
            self._hook,
            content=body,
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
        )
        answer.raise_for_status()

    async def _service(self, name: str) -> Service:
        try:
            return await self._rt.fleet.get_service(name)
        except FleetError as exc:
            raise ValueError(f"no service {name!r} in the fleet ({exc})") from None

    def _fault_for(self, service: Service) -> str:
        names = [n for n, (kinds, *_rest) in FAULTS.items() if service.kind in kinds]
        return self._rng.choice(names)

    @staticmethod
    def _victim(service: Service) -> str:
        replicas = [m.name for m in service.members if m.role in ("replica", "broker")]
        return replicas[-1] if replicas else (service.members[-1].name if service.members else "")


def _fingerprint(labels: dict[str, str]) -> str:
    # Alertmanager's fingerprint is a hash of the label set; any stable hash will do here.
    text = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _webhook(alert: Firing, status: str) -> dict[str, Any]:
    """An Alertmanager webhook (version 4) delivery with one alert."""
    now = datetime.now(UTC)
    ends = now if status == "resolved" else datetime(1, 1, 1, tzinfo=UTC)
    group = {"alertname": alert.labels["alertname"], "service": alert.labels["service"]}
    return {
        "version": "4",
        "groupKey": "{}:" + json.dumps(group, sort_keys=True),
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "watchkeeper",
        "groupLabels": group,
        "commonLabels": alert.labels,
        "commonAnnotations": alert.annotations,
        "externalURL": "http://alertmanager.demo:9093",
        "alerts": [
            {
                "status": status,
                "labels": alert.labels,
                "annotations": alert.annotations,
                "startsAt": alert.starts_at.isoformat().replace("+00:00", "Z"),
                "endsAt": ends.isoformat().replace("+00:00", "Z"),
                "generatorURL": "http://prometheus.demo:9090/graph",
                "fingerprint": alert.fingerprint,
            }
        ],
    }
