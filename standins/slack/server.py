"""The stand-in's HTTP face: Slack's Web API, response_urls, and control routes.

    POST /api/{method}              Web API (JSON or form body; Bearer xoxb-... token;
                                    apps.connections.open takes the xapp-... token)
    WS   /link/?ticket=T            Socket Mode: one connection per apps.connections.open
    POST /response/{token}          a response_url; answers plain "ok" like Slack
    GET  /_standin/calls            calls answered after ?since=SEQ (&method=M)
    GET  /_standin/messages         feed events after ?since=SEQ (&channel=C, &wait=S)
    GET  /_standin/faults           the current fault
    POST /_standin/faults           set a fault: {"mode": ..., "seconds": ..., ...}
    POST /_standin/pace             {"enabled": true, "per_second": 1, "burst": 3}
    POST /_standin/response_urls    {"channel", "user", "message_ts"?} -> {"response_url"}
    GET  /_standin/socket           Socket Mode: connections, envelopes sent, acks, outcomes
    POST /_standin/socket/deliver   {"type", "payload"} -> the delivery, once acked or given up
    POST /_standin/socket/disconnect  {"reason": "refresh_requested"|"warning"|"link_disabled"}
    POST /_standin/socket/drop      {"after_next_envelope": false}: close the connections

A fault is decided before anything else and a faulted call changes nothing. A `hang`
holds the request until the fault ends or the client disconnects.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import default
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from standins.slack.blockkit import validate_message
from standins.slack.faults import Fault, FaultSpecError, fault_from_json
from standins.slack.methods import (
    METHODS,
    Answer,
    decode_json_field,
    fail,
    rate_limited,
)
from standins.slack.models import JsonDict
from standins.slack.socket_mode import DISCONNECT_REASONS, ENVELOPE_TYPES
from standins.slack.state import StandInState

HANG_POLL_SECONDS = 0.02
MAX_LONG_POLL_SECONDS = 30.0
FORM_TYPES = ("application/x-www-form-urlencoded", "text/plain", "")
# Methods called with the app-level token (xapp-...) rather than the bot token.
APP_LEVEL_METHODS = frozenset({"apps.connections.open"})
WS_POLICY_VIOLATION = 1008


class _ClientGone(Exception):
    pass


def create_app(state: StandInState) -> Starlette:
    api = _StandInApi(state)
    return Starlette(
        routes=[
            Route("/api/{method}", api.web_api, methods=["GET", "POST"]),
            Route("/response/{token}", api.response_url, methods=["POST"]),
            Route("/upload/{file_id}", api.upload, methods=["POST"]),
            Route("/_standin/calls", api.list_calls, methods=["GET"]),
            Route("/_standin/messages", api.list_events, methods=["GET"]),
            Route("/_standin/faults", api.faults, methods=["GET", "POST"]),
            Route("/_standin/pace", api.pace, methods=["POST"]),
            Route("/_standin/response_urls", api.mint_response_url, methods=["POST"]),
            Route("/_standin/socket", api.socket_status, methods=["GET"]),
            Route("/_standin/socket/deliver", api.socket_deliver, methods=["POST"]),
            Route("/_standin/socket/disconnect", api.socket_disconnect, methods=["POST"]),
            Route("/_standin/socket/drop", api.socket_drop, methods=["POST"]),
            WebSocketRoute("/link/", api.socket_link),
            Route("/_standin/triggers", api.mint_trigger, methods=["POST"]),
        ]
    )


async def _read_payload(request: Request) -> tuple[JsonDict, str | None]:
    """The call's arguments and, when the body cannot be read, Slack's name for why."""
    payload: JsonDict = dict(request.query_params)
    body = await request.body()
    if not body:
        return payload, None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            return payload, "invalid_json"
        if not isinstance(data, dict):
            return payload, "invalid_json"
        return {**payload, **data}, None
    if content_type in FORM_TYPES:
        try:
            fields = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return payload, "invalid_form_data"
        return {**payload, **dict(fields)}, None
    return payload, "invalid_post_type"


def _auth_error(request: Request, payload: JsonDict, method: str) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        token = str(payload.get("token") or "")
    if not token:
        return "not_authed"
    wanted = "xapp-" if method in APP_LEVEL_METHODS else "xoxb-"
    if token.startswith(wanted):
        return None
    # Slack tells a real token of the wrong kind apart from a bad one.
    other = token.startswith("xapp-") or token.startswith("xoxb-")
    return "not_allowed_token_type" if other else "invalid_auth"


def _socket_base(request: Request) -> str:
    """Where this server's WebSocket is, as the client reached it (ws:// on http://)."""
    base = str(request.base_url)
    return "ws" + base[len("http") :] if base.startswith("http") else base


def _fault_answer(fault: Fault) -> Answer:
    if fault.mode == "rate_limit":
        return rate_limited(math.ceil(fault.retry_after))
    status = fault.status
    return Answer(status=status, text="service unavailable", error_name=f"http_{status}")


def _respond(answer: Answer) -> Response:
    if answer.text is not None:
        return PlainTextResponse(answer.text, answer.status, headers=answer.headers)
    return JSONResponse(answer.body, answer.status, headers=answer.headers)


class _StandInApi:
    def __init__(self, state: StandInState) -> None:
        self.state = state

    async def _through_faults(self, method: str, request: Request) -> Answer | None:
        """The fault's answer, or None once no fault applies; raises _ClientGone."""
        while (fault := self.state.fault_for(method)) is not None:
            self.state.spend_fault(fault)
            if fault.mode != "hang":
                return _fault_answer(fault)
            while self.state.fault is fault and not fault.expired(self.state.clock()):
                if await request.is_disconnected():
                    raise _ClientGone
                await asyncio.sleep(HANG_POLL_SECONDS)
            # The fault may end just after the client gave up: its call was never answered,
            # so it must not be carried out either (the client will send it again).
            if await request.is_disconnected():
                raise _ClientGone
        return None

    async def _answer(
        self, method: str, request: Request, payload: JsonDict, decide: Callable[[int], Answer]
    ) -> Response:
        """Run `decide(call_seq) -> Answer` unless a fault answers first; record the call."""
        try:
            answer = await self._through_faults(method, request)
        except _ClientGone:
            self.state.record_call(self.state.next_call_seq(), method, payload, 0, "hang")
            return Response(status_code=503)
        # From here to record_call nothing awaits, so calls are recorded in seq order.
        seq = self.state.next_call_seq()
        if answer is None:
            answer = decide(seq)
        self.state.record_call(seq, method, payload, answer.status, answer.error)
        return _respond(answer)

    async def web_api(self, request: Request) -> Response:
        method = request.path_params["method"]
        payload, unreadable = await _read_payload(request)
        hub = self.state.socket_mode

        self.state.base_url = str(request.base_url).rstrip("/")

        def decide(seq: int) -> Answer:
            if unreadable is not None:
                return fail(unreadable)
            implementation = METHODS.get(method)
            if implementation is None and method not in APP_LEVEL_METHODS:
                return fail("unknown_method")
            auth_error = _auth_error(request, payload, method)
            if auth_error is not None:
                return fail(auth_error)
            if implementation is None:  # apps.connections.open, the one app-level method
                return Answer({"ok": True, "url": hub.new_url(_socket_base(request))})
            return implementation(self.state, payload, seq)

        return await self._answer(method, request, payload, decide)

    async def response_url(self, request: Request) -> Response:
        token = request.path_params["token"]
        payload, unreadable = await _read_payload(request)

        def decide(seq: int) -> Answer:
            target = self.state.response_target(token)
            if isinstance(target, str):
                return Answer(status=404, text=target, error_name=target)
            if unreadable is not None:
                return Answer(status=400, text=unreadable, error_name=unreadable)
            blocks, well_formed = decode_json_field(payload, "blocks")
            problem = None
            if not well_formed:
                problem = "invalid_blocks_format"
            elif not payload.get("delete_original"):
                found = validate_message(payload.get("text"), blocks)
                problem = None if found is None else found.error
            if problem is not None:
                return Answer(status=400, text=problem, error_name=problem)
            self.state.post_response(seq, target, payload, blocks or [])
            return Answer(text="ok")

        return await self._answer("response_url", request, payload, decide)

    async def upload(self, request: Request) -> Response:
        """The upload URL of `files.getUploadURLExternal`: raw bytes or a multipart form
        with one file, as Slack takes them; no token (the URL is the credential)."""
        upload = self.state.upload(request.path_params["file_id"])
        body = await request.body()
        content = _file_part(request.headers.get("content-type", ""), body)

        def decide(seq: int) -> Answer:
            if upload is None or upload.shared or upload.content is not None:
                return Answer(status=404, text="file_not_found", error_name="file_not_found")
            if content is None or len(content) != upload.length:
                # The length asked for is the length Slack expects to receive.
                return Answer(status=400, text="invalid_length", error_name="invalid_length")
            upload.content = content
            return Answer(text=f"OK - {len(content)}")

        return await self._answer(
            "files.upload", request, {"file_id": upload and upload.id}, decide
        )

    async def list_calls(self, request: Request) -> Response:
        since = _int_param(request, "since")
        method = request.query_params.get("method")
        calls = self.state.calls(method, since=since)
        return JSONResponse(
            {"calls": [c.to_json() for c in calls], "next": max(since, self.state.last_call_seq)}
        )

    async def list_events(self, request: Request) -> Response:
        """The feed after `since`, waiting up to `wait` seconds for something new."""
        since = _int_param(request, "since")
        channel = request.query_params.get("channel") or None
        wait = min(MAX_LONG_POLL_SECONDS, max(0.0, _float_param(request, "wait")))
        deadline = asyncio.get_running_loop().time() + wait
        events = self.state.events(since=since, channel=channel)
        while not events and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(HANG_POLL_SECONDS)
            events = self.state.events(since=since, channel=channel)
        return JSONResponse(
            {
                "events": [e.to_json() for e in events],
                "next": max(since, self.state.last_event_seq),
            }
        )

    async def faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                spec = await request.json()
                if not isinstance(spec, dict):
                    raise FaultSpecError("body must be a JSON object")
                self.state.fault = fault_from_json(spec, self.state.clock())
            except (ValueError, FaultSpecError) as bad:
                return JSONResponse({"ok": False, "error": str(bad)}, 400)
        return JSONResponse({"ok": True, "fault": self.state.fault.to_json(self.state.clock())})

    async def pace(self, request: Request) -> Response:
        spec = await _json_object(request)
        if spec is None:
            return JSONResponse({"ok": False, "error": "body must be a JSON object"}, 400)
        pacer = self.state.pacer
        try:
            per_second = float(spec.get("per_second", pacer.per_second))
            burst = int(spec.get("burst", pacer.burst))
        except (TypeError, ValueError):
            return JSONResponse({"ok": False, "error": "per_second and burst are numbers"}, 400)
        if per_second <= 0 or burst < 1:
            return JSONResponse({"ok": False, "error": "per_second > 0 and burst >= 1"}, 400)
        self.state.enforce_pace = bool(spec.get("enabled", True))
        pacer.per_second, pacer.burst = per_second, burst
        return JSONResponse(
            {
                "ok": True,
                "enabled": self.state.enforce_pace,
                "per_second": pacer.per_second,
                "burst": pacer.burst,
            }
        )

    async def mint_response_url(self, request: Request) -> Response:
        spec = await _json_object(request)
        if spec is None or not spec.get("channel") or not spec.get("user"):
            return JSONResponse({"ok": False, "error": "channel and user are required"}, 400)
        message_ts = spec.get("message_ts")
        url = self.state.new_response_url(
            str(request.base_url),
            str(spec["channel"]),
            str(spec["user"]),
            None if message_ts is None else str(message_ts),
        )
        return JSONResponse({"ok": True, "response_url": url})

    async def mint_trigger(self, request: Request) -> Response:
        """A trigger_id for an interaction another process is about to send as `user`."""
        spec = await _json_object(request)
        if spec is None or not spec.get("user"):
            return JSONResponse({"ok": False, "error": "user is required"}, 400)
        return JSONResponse(
            {"ok": True, "trigger_id": self.state.new_trigger_id(str(spec["user"]))}
        )

    # -- Socket Mode ---------------------------------------------------------------

    async def socket_link(self, websocket: WebSocket) -> None:
        hub = self.state.socket_mode
        if not hub.redeem(websocket.query_params.get("ticket", "")):
            # Closed before the handshake completes: the client is answered 403.
            await websocket.close(code=WS_POLICY_VIOLATION)
            return
        await websocket.accept()
        connection = await hub.attach(_WebSocketLink(websocket))
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:  # a binary frame: Slack reads only text
                    text = repr(message.get("bytes"))
                hub.receive(connection, text)
        except (WebSocketDisconnect, RuntimeError):
            pass  # the app went away, or the hub closed the socket under this loop
        finally:
            hub.detach(connection)

    async def socket_status(self, request: Request) -> Response:
        return JSONResponse({"ok": True, **self.state.socket_mode.to_json()})

    async def socket_deliver(self, request: Request) -> Response:
        spec = await _json_object(request)
        if (
            spec is None
            or spec.get("type") not in ENVELOPE_TYPES
            or not isinstance(spec.get("payload"), dict)
        ):
            types = ", ".join(ENVELOPE_TYPES)
            return JSONResponse(
                {"ok": False, "error": f"type (one of {types}) and payload (an object)"}, 400
            )
        delivery = await self.state.socket_mode.deliver(spec["type"], spec["payload"])
        return JSONResponse({"ok": True, **delivery.to_json()})

    async def socket_disconnect(self, request: Request) -> Response:
        spec = await _json_object(request) or {}
        reason = spec.get("reason", "refresh_requested")
        if reason not in DISCONNECT_REASONS:
            reasons = ", ".join(DISCONNECT_REASONS)
            return JSONResponse({"ok": False, "error": f"reason is one of {reasons}"}, 400)
        return JSONResponse({"ok": True, "asked": await self.state.socket_mode.disconnect(reason)})

    async def socket_drop(self, request: Request) -> Response:
        spec = await _json_object(request) or {}
        hub = self.state.socket_mode
        if spec.get("after_next_envelope"):
            hub.cut_after_next_envelope()
            return JSONResponse({"ok": True, "dropped": 0})
        return JSONResponse({"ok": True, "dropped": await hub.drop()})


class _WebSocketLink:
    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket

    async def send(self, text: str) -> None:
        await self._websocket.send_text(text)

    async def close(self, code: int) -> None:
        await self._websocket.close(code=code)


async def _json_object(request: Request) -> dict[str, Any] | None:
    try:
        data = await request.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _int_param(request: Request, key: str) -> int:
    try:
        return int(request.query_params.get(key, "0"))
    except ValueError:
        return 0


def _float_param(request: Request, key: str) -> float:
    try:
        return float(request.query_params.get(key, "0"))
    except ValueError:
        return 0.0


def _file_part(content_type: str, body: bytes) -> bytes | None:
    """The file's bytes: the body itself, or the one file part of a multipart form."""
    if not content_type.lower().startswith("multipart/form-data"):
        return body
    message = BytesParser(policy=default).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        return None
    for part in message.iter_parts():
        if (
            part.get_filename() is not None
            or part.get_param("name", header="content-disposition") == "file"
        ):
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None
