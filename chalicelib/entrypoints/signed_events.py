"""The signed event types of ``POST /v1/events`` (API.md "Signed events"), each declared
once: its type, the shape of its ``data``, what it does and the errors that can refuse it.

The request body (one schema per type, chosen by ``type``), the handler of each type, the
scope an integration key needs for it and the route's documented errors are all derived
from ``SIGNED_EVENTS``, so a type cannot be accepted without a handler or a scope. A new
earning rule fed by an event is its handler (``service_layer.earning``), its data schema
(``schemas``) and one line here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, RootModel, create_model

from ..domain import errors as e
from ..domain.holds import HoldAlreadyPosted, HoldAlreadyVoided, HoldExpired
from ..domain.signing import event_scope
from ..service_layer import earning, events, mall
from . import schemas as s


@dataclass(frozen=True)
class SignedEventType:
    """Everything about one type of signed event."""

    type: str  # the contract's name (API.md), fixed
    schema_name: str  # the name of its body schema in the OpenAPI document
    data: type[s.Body]
    handler: events.SignedEventHandler
    errors: tuple[type[e.DomainError], ...] = ()  # what its handler may refuse it with (documented)

    @property
    def scope(self) -> str:
        """What an integration key needs to send this type (README "Integration keys")."""
        return event_scope(self.type)

    def body(self) -> type[BaseModel]:
        """The whole event of this type: the envelope, ``type`` fixed to this type, its ``data``."""
        return create_model(
            self.schema_name,
            __base__=s.EventEnvelope,
            __module__=s.__name__,
            type=(Literal[self.type], ...),
            data=(self.data, ...),
        )


# a mall checkout's payment result: no such checkout of this member, or its hold already resolved
_CHECKOUT_ERRORS = (mall.UnknownItem, HoldAlreadyPosted, HoldAlreadyVoided, HoldExpired)

SIGNED_EVENTS = (
    SignedEventType("order.paid", "OrderPaid", s.OrderPaidData, earning.order_paid, (earning.OrderExists,)),
    SignedEventType(
        "order.refunded",
        "OrderRefunded",
        s.OrderRefundedData,
        earning.order_refunded,
        (earning.UnknownOrder, earning.RefundExceedsPaid),
    ),
    SignedEventType("challenge.won", "ChallengeWon", s.EmptyData, earning.challenge_won),
    SignedEventType("content.posted", "ContentPosted", s.ContentPostedData, earning.content_posted),
    SignedEventType("survey.completed", "SurveyCompleted", s.SurveyCompletedData, earning.survey_completed),
    SignedEventType("event.checked_in", "EventCheckedIn", s.EventCheckedInData, earning.event_checked_in),
    SignedEventType(
        "lecture.given", "LectureGiven", s.LectureGivenData, earning.lecture_given, (earning.NotANutritionist,)
    ),
    SignedEventType(
        "guidance.committed",
        "GuidanceCommitted",
        s.GuidanceCommittedData,
        earning.guidance_committed,
        (earning.NotANutritionist, earning.UnknownMember, e.RuleViolation),
    ),
    SignedEventType(
        "payment.succeeded", "PaymentSucceeded", s.PaymentResultData, events.capture_mall_payment, _CHECKOUT_ERRORS
    ),
    SignedEventType(
        "payment.failed", "PaymentFailed", s.PaymentResultData, events.release_mall_payment, _CHECKOUT_ERRORS
    ),
)

BY_TYPE = {declared.type: declared for declared in SIGNED_EVENTS}
if len(BY_TYPE) != len(SIGNED_EVENTS):
    raise ValueError("a signed event type is declared twice")

# what any event can be refused with, whatever its type
COMMON_ERRORS: tuple[type[e.DomainError], ...] = (earning.UnknownMember, earning.OccurredAtOutOfRange)
ERRORS = tuple(dict.fromkeys(COMMON_ERRORS + tuple(error for t in SIGNED_EVENTS for error in t.errors)))


class SignedEvent(RootModel[Annotated[Union[tuple(t.body() for t in SIGNED_EVENTS)], Field(discriminator="type")]]):  # noqa: UP007
    """One event from a trusted system; ``type`` selects the shape of ``data``."""

    model_config = ConfigDict(strict=True)
