"""Events (tev): pull-point subscriptions fed by the store's change events.

Each topic watches C2 variables; a subscription starts with one message per topic stating the
current value (PropertyOperation Initialized), then gets a Changed message per change. Subscriptions
are few, their queues bounded, and each expires at its termination time unless renewed.
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from roto_server.device.store import ChangeEvent, StateStore
from roto_server.protocols.soap.envelope import Fault, child_text, el, text
from roto_shared.alarms import head_temperature_alarm, storage_full

from .engine import Call, Registry, iso

MAX_SUBSCRIPTIONS = 16  # an NVR or two, Home Assistant, and room for ones that forget to unsubscribe
QUEUE_LIMIT = 256
DEFAULT_TERMINATION_S = 60.0
MAX_TERMINATION_S = 3600.0
MAX_PULL_TIMEOUT_S = 60.0
DIALECT = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet"


@dataclass(frozen=True)
class Topic:
    path: str  # below tns1:
    variable: str
    item: str  # the Data SimpleItem name
    value: Callable[[Any], str]
    source: tuple[str, str] | None = None  # a Source SimpleItem (name, value)


def _bool(v: Any) -> str:
    return "true" if v else "false"


def _storage_state(v: Any) -> str:
    if not isinstance(v, Mapping) or not v:
        return "none"
    if not v.get("available", False):
        return "lost"
    return "full" if storage_full(int(v.get("free", 0)), int(v.get("total", 0))) else "ok"


def _too_hot(v: Any) -> str:
    return _bool(head_temperature_alarm(v))


def _tag(v: Any) -> str:
    return str(v)


TOPICS: tuple[Topic, ...] = (
    Topic("RecordingConfig/JobState", "record", "State", lambda v: "Active" if v == "start" else "Idle"),
    Topic("Roto/VisualBackup", "backupActive", "State", _bool),
    Topic("Roto/Light", "light0", "State", _bool, ("Head", "0")),
    Topic("Roto/Light", "light1", "State", _bool, ("Head", "1")),
    Topic("Roto/Storage", "recordingStorage", "State", _storage_state),
    Topic("Device/HardwareFailure/TemperatureCritical", "oct0", "Critical", _too_hot, ("Head", "0")),
    Topic("Device/HardwareFailure/TemperatureCritical", "oct1", "Critical", _too_hot, ("Head", "1")),
    Topic("Roto/TagCreated", "createTag", "Message", _tag),
)
# variables that are events rather than states: no initial message, and they arrive as the device's notices
_INITIAL: set[str] = {"createTag"}


@dataclass
class Message:
    topic: Topic
    value: Any
    at: float
    operation: str  # Initialized | Changed


@dataclass
class Subscription:
    id: int
    expires: float
    owner: str  # the user who created it: only they pull, renew or end it
    queue: deque[Message] = field(default_factory=lambda: deque(maxlen=QUEUE_LIMIT))


class EventBroker:
    """The subscriptions of the unit, fed from the store."""

    def __init__(self, store: StateStore, clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock
        self.subscriptions: dict[int, Subscription] = {}
        self._ids = itertools.count(1)
        self.wakeups: list[Callable[[], None]] = []  # the adapter's long polls
        # what each topic last said: a storage's free bytes or a new temperature reading are not news
        self._said = {(t.path, t.variable): t.value(store[t.variable]) for t in TOPICS if t.variable not in _INITIAL}
        store.subscribe(self._on_change)

    def _on_change(self, event: ChangeEvent) -> None:
        now = self.clock()
        messages = []
        for topic in TOPICS:
            if topic.variable in _INITIAL:
                told = [n for n in event.notices if n.variable == topic.variable and n.level == "info"]
                messages += [Message(topic, notice.message, now, "Changed") for notice in told]
                continue
            if topic.variable not in event.changes:
                continue
            said = topic.value(event.changes[topic.variable])
            if self._said[(topic.path, topic.variable)] != said:
                self._said[(topic.path, topic.variable)] = said
                messages.append(Message(topic, event.changes[topic.variable], now, "Changed"))
        if not messages or not self.subscriptions:
            return
        for sub in self.subscriptions.values():
            sub.queue.extend(messages)
        for wake in list(self.wakeups):
            wake()

    def expire(self, now: float) -> None:
        for sid in [s.id for s in self.subscriptions.values() if s.expires <= now]:
            del self.subscriptions[sid]

    def create(self, now: float, ttl: float, owner: str) -> Subscription:
        self.expire(now)
        if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            raise Fault(
                "ter:OutofMemory",
                f"at most {MAX_SUBSCRIPTIONS} subscriptions; unsubscribe or let one expire",
                code="Receiver",
            )
        sub = Subscription(next(self._ids), now + ttl, owner)
        sub.queue.extend(self.initial(now))
        self.subscriptions[sub.id] = sub
        return sub

    def initial(self, now: float) -> list[Message]:
        return [Message(t, self.store[t.variable], now, "Initialized") for t in TOPICS if t.variable not in _INITIAL]

    def find(self, sid: int, now: float, user: str) -> Subscription:
        """The subscription ``sid`` of ``user``; another user's is as unknown as one that never was."""
        self.expire(now)
        sub = self.subscriptions.get(sid)
        if sub is None or sub.owner != user:
            raise Fault("ter:InvalidArgVal", f"subscription {sid} is unknown or expired; create a new one")
        return sub

    def take(self, sub: Subscription, limit: int) -> list[Message]:
        return [sub.queue.popleft() for _ in range(min(limit, len(sub.queue)))]


def duration(value: str | None, default: float, limit: float, now: float) -> float:
    """Seconds of an xs:duration (PT60S, PT1M) or an absolute xs:dateTime, bounded by ``limit``."""
    if not value:
        return default
    match = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?", value)
    if match and any(match.groups()):
        hours, minutes, seconds = (float(g or 0) for g in match.groups())
        return min(hours * 3600 + minutes * 60 + seconds, limit)
    from datetime import datetime

    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise Fault("ter:InvalidArgVal", f"{value!r} is neither an xs:duration (PT60S) nor an xs:dateTime") from None
    return max(1.0, min(at - now, limit))


def message_element(msg: Message) -> etree._Element:
    topic = msg.topic
    source = el("tt:Source", el("tt:SimpleItem", Name=topic.source[0], Value=topic.source[1])) if topic.source else None
    # a state (property) says whether it is the first report or a change; a plain event (a tag) says neither
    operation = {} if topic.variable in _INITIAL else {"PropertyOperation": msg.operation}
    return el(
        "wsnt:NotificationMessage",
        el("wsnt:Topic", f"tns1:{topic.path}", Dialect=DIALECT),
        el(
            "wsnt:Message",
            el(
                "tt:Message",
                source,
                el("tt:Data", el("tt:SimpleItem", Name=topic.item, Value=topic.value(msg.value))),
                UtcTime=iso(msg.at),
                **operation,
            ),
        ),
    )


def topic_set() -> etree._Element:
    root = el("wstop:TopicSet")
    wstop_ns = "http://docs.oasis-open.org/wsn/t-1"
    for topic in TOPICS:
        parent = root
        parts = topic.path.split("/")
        for depth, part in enumerate(parts):
            found = next((c for c in parent if etree.QName(c).localname == part), None)
            if found is None:
                ns = "http://www.onvif.org/ver10/topics" if parent is root else None
                found = etree.SubElement(parent, f"{{{ns}}}{part}" if ns else part)
                if depth == len(parts) - 1:
                    found.set(f"{{{wstop_ns}}}topic", "true")
                    desc = el("tt:MessageDescription", IsProperty="false" if topic.variable in _INITIAL else "true")
                    if topic.source:
                        desc.append(
                            el("tt:Source", el("tt:SimpleItemDescription", Name=topic.source[0], Type="xs:string"))
                        )
                    desc.append(el("tt:Data", el("tt:SimpleItemDescription", Name=topic.item, Type="xs:string")))
                    found.append(desc)
            parent = found
    return root


def register(reg: Registry, broker: EventBroker) -> None:
    add = reg.add

    @add("events", "GetServiceCapabilities", "pre")
    def _caps(call: Call, body: etree._Element) -> etree._Element:
        from .device import service_capabilities

        return el("tev:GetServiceCapabilitiesResponse", service_capabilities("events"))

    @add("events", "GetEventProperties", "read")
    def _properties(call: Call, body: etree._Element) -> etree._Element:
        return el(
            "tev:GetEventPropertiesResponse",
            text("tev:TopicNamespaceLocation", "http://www.onvif.org/onvif/ver10/topics/topicns.xml"),
            text("wsnt:FixedTopicSet", True),
            topic_set(),
            text("wsnt:TopicExpressionDialect", "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet"),
            text("wsnt:TopicExpressionDialect", "http://docs.oasis-open.org/wsn/t-1/TopicExpression/Concrete"),
            text("tev:MessageContentFilterDialect", "http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter"),
            text("tev:MessageContentSchemaLocation", "http://www.onvif.org/onvif/ver10/schema/onvif.xsd"),
        )

    @add("events", "CreatePullPointSubscription", "read")
    def _create(call: Call, body: etree._Element) -> etree._Element:
        ttl = duration(child_text(body, "InitialTerminationTime"), DEFAULT_TERMINATION_S, MAX_TERMINATION_S, call.now)
        sub = broker.create(call.now, ttl, call.user)
        return el(
            "tev:CreatePullPointSubscriptionResponse",
            el("tev:SubscriptionReference", text("wsa:Address", f"{call.url('events')}/subscription/{sub.id}")),
            text("wsnt:CurrentTime", iso(call.now)),
            text("wsnt:TerminationTime", iso(sub.expires)),
        )


def pull_timeout(body: etree._Element, now: float) -> tuple[float, int]:
    """How long PullMessages may wait and how many messages it takes."""
    limit_text = child_text(body, "MessageLimit") or "100"
    if not limit_text.isdigit() or int(limit_text) < 1:
        raise Fault("ter:InvalidArgVal", f"MessageLimit {limit_text!r}: a positive integer")
    return duration(child_text(body, "Timeout"), 10.0, MAX_PULL_TIMEOUT_S, now), min(int(limit_text), 1000)


def pull_response(sub: Subscription, messages: list[Message], now: float) -> etree._Element:
    return el(
        "tev:PullMessagesResponse",
        text("tev:CurrentTime", iso(now)),
        text("tev:TerminationTime", iso(sub.expires)),
        *(message_element(m) for m in messages),
    )


def subscription_op(
    broker: EventBroker, sid: int, call: Call, request_name: str, body: etree._Element
) -> etree._Element:
    """Renew, Unsubscribe and SetSynchronizationPoint on one subscription (PullMessages waits: the adapter)."""
    sub = broker.find(sid, call.now, call.user)
    if request_name == "Renew":
        ttl = duration(child_text(body, "TerminationTime"), DEFAULT_TERMINATION_S, MAX_TERMINATION_S, call.now)
        sub.expires = call.now + ttl
        return el(
            "wsnt:RenewResponse",
            text("wsnt:TerminationTime", iso(sub.expires)),
            text("wsnt:CurrentTime", iso(call.now)),
        )
    if request_name == "Unsubscribe":
        del broker.subscriptions[sid]
        return el("wsnt:UnsubscribeResponse")
    if request_name == "SetSynchronizationPoint":
        sub.queue.extend(broker.initial(call.now))
        return el("tev:SetSynchronizationPointResponse")
    raise Fault("ter:ActionNotSupported", f"{request_name} is not supported on a pull-point subscription")
