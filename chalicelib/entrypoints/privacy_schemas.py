"""Request and response models of the privacy routes (legal documents, consents, closing)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from .schemas import Body, ConsentChannel, ConsentSummary, DocAcceptance, Instant, Out, Reason

Confirmation = Annotated[str, Field(min_length=1, max_length=64, description="the preview's confirmation")]


class LegalDocumentOut(Out):
    doc: str
    version: int
    title: str
    body: str
    effective_at: datetime


class PublishRequest(Body):
    version: int = Field(ge=1, le=999_999, description="higher than every published version of the document")
    title: Annotated[str, Field(min_length=1, max_length=200)]
    body: Annotated[str, Field(min_length=1, max_length=12_000)]
    effective_at: Instant = Field(description="now or later: members are asked to accept from then on")
    reason: Reason


class AcceptRequest(Body):
    accepted: Annotated[list[DocAcceptance], Field(min_length=1, max_length=4)]
    channel: ConsentChannel = "other"


class GrantRequest(Body):
    channel: ConsentChannel = "other"


class WithdrawRequest(Body):
    confirmation: Confirmation
    channel: ConsentChannel = "other"


class ConsentRecordOut(Out):
    kind: str = Field(description="accepted | granted | withdrawn")
    subject: str = Field(description="a document or a separate consent's purpose")
    version: int | None
    channel: str
    at: datetime


class Consents(Out):
    consent: ConsentSummary
    history: list[ConsentRecordOut] = Field(description="every record, oldest first; never changed")


class ErasurePreviewOut(Out):
    purpose: str
    erases: list[str] = Field(description="the data withdrawing this consent erases")
    consequences: list[str]
    confirmation: str = Field(description="send it back to withdraw; it changes when what would be erased changes")


class ClosePreviewOut(Out):
    points_available: int = Field(description="forfeited")
    points_pending: int = Field(description="forfeited")
    points_held: int = Field(description="forfeited")
    unreleased_rewards_fen: int = Field(description="forfeited: settlement lines not yet released")
    balance_fen: int = Field(description="must be 0: withdraw the aibi first")
    held_fen: int = Field(description="must be 0")
    closable: bool
    confirmation: str = Field(description="send it back with POST /v1/me/close")
