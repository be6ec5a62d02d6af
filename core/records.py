"""The private records of a jamii deployment (DESIGN section 2), as SQLAlchemy 2 models.

Only `jamii.core.store` opens sessions on these tables. Contact and payment details live in
`ContributorContact`, the one table no export ever reads, so that keeping PII out of a release
is a matter of which tables a query touches rather than which columns it remembers to drop.

Kind-specific item fields (prompt, rubric, transcript...) are a JSON `content` document: the
three kinds share their lifecycle (review, acceptance, consent, pay) but not their shape, and
`jamii.core.schema` is the one place that says which fields each kind carries.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("contributor", "reviewer", "organiser")
ITEM_STATUSES = ("submitted", "accepted", "rejected", "needs_edit")
VERDICTS = ("approve", "reject", "edit")
CONSENT_SCOPES = ("open_publication", "model_evaluation", "voice", "rating")
"""`rating`: rate model answers in the collector (a campaign may let every contributor who
gave it rate, rather than only its reviewers)."""
ACTIVITIES = ("item_accepted", "review", "rating", "recording_minute")
PAYMENT_STATUSES = ("owed", "approved", "paid", "failed")
COMPENSATION_METHODS = ("mobile_money", "airtime", "voucher", "in_kind", "volunteer")
DEMOGRAPHIC_FIELDS = ("gender", "age_band", "region", "dialect")
"""Self-described fields that releases and the dashboard publish as counts of people, in this
order (under the rule of five, `jamii.core.disclosure`)."""
PROFILE_FIELDS = (*DEMOGRAPHIC_FIELDS, "languages_spoken", "compensation_method",
                  "compensation_choice", "ui_language")
"""Every self-described field of a `Contributor`: all optional, set by the person themself."""


def new_uid() -> str:
    """A record's global id: made where the record is made (a field kit or the central store),
    so records from several kits merge without two ever taking the same id."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: DateTime(timezone=True),
        Decimal: Numeric(14, 4),
    }


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    languages: Mapped[list[Any]] = mapped_column(default=list)
    """BCP-47 tags, normalised."""
    dialects: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Language tag -> list of dialect labels the community defined."""
    domains: Mapped[list[Any]] = mapped_column(default=list)
    item_kinds: Mapped[list[Any]] = mapped_column(default=list)
    targets: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Coverage and representation targets, e.g. {"items": {"sw/agriculture": 200},
    "representation": {"gender:woman": 0.5}}."""
    acceptance_rule: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Parameters of `jamii.core.rules.decide`; empty means Common Voice's rule."""
    consent_scopes: Mapped[list[Any]] = mapped_column(default=list)
    """Which consent scopes this campaign asks for."""
    compensation_options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Methods offered and in-kind goods, e.g. {"methods": [...], "in_kind": ["seed packs"]}."""
    rating_settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Who may rate model answers and how much: {"raters": "reviewers"|"consented",
    "daily_cap": int|null, "ratings_per_task": int}; empty means `jamii.core.ratings.DEFAULTS`."""
    licence_plan: Mapped[str] = mapped_column(String(64), default="cc-by-4.0")
    current_consent_version: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Contributor(Base):
    """A person, known outside the private tables only by `pseudonym`."""

    __tablename__ = "contributors"
    __table_args__ = (Index("ix_contributors_uid", "uid", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), nullable=True, default=new_uid)
    """Global id (`new_uid`), the same in every store the record reaches."""
    kit_id: Mapped[str | None] = mapped_column(String(32))
    """The field kit the record was made in (null: made in this store, or centrally)."""
    pseudonym: Mapped[str] = mapped_column(String(64), unique=True)
    roles: Mapped[list[Any]] = mapped_column(default=lambda: ["contributor"])
    invite_code_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    ui_language: Mapped[str | None] = mapped_column(String(35))
    # self-described profile: every field optional, never required
    dialect: Mapped[str | None] = mapped_column(String(120))
    region: Mapped[str | None] = mapped_column(String(120))
    gender: Mapped[str | None] = mapped_column(String(60))
    age_band: Mapped[str | None] = mapped_column(String(20))
    languages_spoken: Mapped[list[Any]] = mapped_column(default=list)
    compensation_method: Mapped[str | None] = mapped_column(String(32))
    compensation_choice: Mapped[str | None] = mapped_column(String(120))
    """Which in-kind good, when the method is in_kind."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]

    contact: Mapped[ContributorContact | None] = relationship(
        back_populates="contributor", uselist=False
    )


class ContributorContact(Base):
    """Names, contacts, credentials and payment accounts: never read by any export."""

    __tablename__ = "contributor_contacts"

    contributor_id: Mapped[int] = mapped_column(ForeignKey("contributors.id"), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    payment_account: Mapped[str | None] = mapped_column(String(200))
    login_name: Mapped[str | None] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))

    contributor: Mapped[Contributor] = relationship(back_populates="contact")


class ConsentText(Base):
    """One version of a campaign's consent text in one language; immutable once accepted."""

    __tablename__ = "consent_texts"
    __table_args__ = (UniqueConstraint("campaign_id", "version", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    version: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(35))
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Consent(Base):
    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_uid", "uid", unique=True), Index("ix_consents_contributor_campaign", "contributor_id", "campaign_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), nullable=True, default=new_uid)
    """Global id (`new_uid`), the same in every store the record reaches."""
    kit_id: Mapped[str | None] = mapped_column(String(32))
    """The field kit the record was made in (null: made in this store, or centrally)."""
    contributor_id: Mapped[int] = mapped_column(ForeignKey("contributors.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    consent_text_id: Mapped[int] = mapped_column(ForeignKey("consent_texts.id"))
    version: Mapped[str] = mapped_column(String(32))
    text_sha256: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Scope name -> bool, each an explicit choice."""
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("campaign_id", "content_sha256"),
        Index("ix_items_campaign_status", "campaign_id", "status"),
        Index("ix_items_campaign_kind_language", "campaign_id", "kind", "language", "status", "id"),
        Index("ix_items_author", "author_id"),
        # the dashboard's coverage and representation counts, read from the index alone
        Index("ix_items_counts", "campaign_id", "kind", "language", "dialect", "domain", "status"),
        Index("ix_items_campaign_author", "campaign_id", "author_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kit_id: Mapped[str | None] = mapped_column(String(32))
    """The field kit the item was made in (null: made centrally); `public_id` is its global id."""
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    """Stable id published in releases; derived from nothing private."""
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    kind: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(35))
    dialect: Mapped[str | None] = mapped_column(String(120))
    domain: Mapped[str | None] = mapped_column(String(120))
    author_id: Mapped[int] = mapped_column(ForeignKey("contributors.id"))
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consents.id"))
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    version: Mapped[int] = mapped_column(Integer, default=1)
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_sha256: Mapped[str] = mapped_column(String(64))
    """Hash of the normalised content: exact duplicates within a campaign are refused."""
    client_key: Mapped[str] = mapped_column(String(128), unique=True)
    """Idempotency key made by the client: the same key stored twice is one item."""
    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict)
    pii_cleared_by: Mapped[int | None] = mapped_column(ForeignKey("contributors.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]


class ItemRevision(Base):
    """Earlier versions of an item, kept when an accepted edit replaces its content."""

    __tablename__ = "item_revisions"
    __table_args__ = (Index("ix_item_revisions_uid", "uid", unique=True), UniqueConstraint("item_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), nullable=True, default=new_uid)
    """Global id (`new_uid`), the same in every store the record reaches."""
    kit_id: Mapped[str | None] = mapped_column(String(32))
    """The field kit the record was made in (null: made in this store, or centrally)."""
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    edited_by: Mapped[int | None] = mapped_column(ForeignKey("contributors.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Review(Base):
    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_uid", "uid", unique=True), UniqueConstraint("item_id", "reviewer_id"),
                      Index("ix_reviews_item_verdict", "item_id", "item_version", "verdict"))

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), nullable=True, default=new_uid)
    """Global id (`new_uid`), the same in every store the record reaches."""
    kit_id: Mapped[str | None] = mapped_column(String(32))
    """The field kit the record was made in (null: made in this store, or centrally)."""
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    item_version: Mapped[int] = mapped_column(Integer)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("contributors.id"))
    verdict: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    suggested_edit: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelAnswer(Base):
    """A model's answer to a contextual item, queued for community rating.

    `model_id` never reaches a rater: pages and sheets show a rating task's blind id and the
    answer text only.
    """

    __tablename__ = "model_answers"
    __table_args__ = (UniqueConstraint("item_id", "item_version", "model_id", "answer_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    item_version: Mapped[int] = mapped_column(Integer)
    model_id: Mapped[str] = mapped_column(String(300))
    answer: Mapped[str] = mapped_column(Text)
    answer_sha256: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str | None] = mapped_column(String(120))
    dataset: Mapped[str | None] = mapped_column(String(200))
    """The release the answer was scored on (name@version): tasks only pair answers on one."""
    reveals_model: Mapped[bool] = mapped_column(Boolean, default=False)
    """The answer names a model or its maker ("I am ChatGPT"): a blind rating is not blind."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RatingTask(Base):
    """One thing to rate: a single answer (direct assessment) or two answers to one item.

    `a`/`b` are the left/right order raters see, drawn at random when the task is made. The
    `task_key` (the answers, unordered) makes re-queuing the same results a no-op.
    """

    __tablename__ = "rating_tasks"
    __table_args__ = (UniqueConstraint("campaign_id", "task_key"),
                      Index("ix_rating_tasks_campaign_mode", "campaign_id", "mode", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True)
    """The blind id printed on sheets: says nothing about the models."""
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    mode: Mapped[str] = mapped_column(String(8))
    """'direct' or 'pair'."""
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    answer_a_id: Mapped[int] = mapped_column(ForeignKey("model_answers.id"))
    answer_b_id: Mapped[int | None] = mapped_column(ForeignKey("model_answers.id"))
    task_key: Mapped[str] = mapped_column(String(80))
    gold: Mapped[str | None] = mapped_column(String(8))
    """For a gold task, the choice a careful rater makes ('a' or 'b'); null otherwise."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Rating(Base):
    """One rater's verdict on one task: scores per rubric criterion (direct) or a choice
    between two answers (pair). A rater rates a task once (the unique constraint holds even
    when two tabs submit at the same moment)."""

    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("task_id", "rater_id"),
                      Index("ix_ratings_rater_created", "rater_id", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("rating_tasks.id"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("contributors.id"))
    answer_id: Mapped[int] = mapped_column(ForeignKey("model_answers.id"))
    other_answer_id: Mapped[int | None] = mapped_column(ForeignKey("model_answers.id"))
    """Set for a pairwise preference between two answers."""
    preferred: Mapped[str | None] = mapped_column(String(8))
    """'a', 'b', 'tie' or 'both_bad' for a pairwise rating."""
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    safety_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16), default="collector")
    """'collector' or 'sheet' (a paper or spreadsheet rating imported by an organiser)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RateCard(Base):
    """A versioned rate card; entries cite the version in force when the work was done."""

    __tablename__ = "rate_cards"
    __table_args__ = (UniqueConstraint("campaign_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    version: Mapped[int] = mapped_column(Integer)
    rates: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Activity -> {"amount": "50", "unit": "KES"}; unit is an ISO 4217 currency or an in-kind
    unit such as "airtime-KES" or "seed pack"."""
    created_by: Mapped[int | None] = mapped_column(ForeignKey("contributors.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CompensationEntry(Base):
    """Append-only ledger line. Its status moves only through `PaymentEvent`s."""

    __tablename__ = "compensation_entries"
    __table_args__ = (Index("ix_compensation_entries_uid", "uid", unique=True), 
        Index("ix_comp_contributor", "contributor_id"),
        Index("ix_comp_campaign_status", "campaign_id", "status", "id"),
        UniqueConstraint("activity", "source_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), nullable=True, default=new_uid)
    """Global id (`new_uid`), the same in every store the record reaches."""
    kit_id: Mapped[str | None] = mapped_column(String(32))
    """The field kit the record was made in (null: made in this store, or centrally)."""
    contributor_id: Mapped[int] = mapped_column(ForeignKey("contributors.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    activity: Mapped[str] = mapped_column(String(32))
    source_key: Mapped[str] = mapped_column(String(80))
    """What earned it (item:12, review:40, correction:7...): one entry per activity and source."""
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    language: Mapped[str | None] = mapped_column(String(35))
    rate_card_id: Mapped[int | None] = mapped_column(ForeignKey("rate_cards.id"))
    quantity: Mapped[Decimal] = mapped_column(default=Decimal(1))
    amount: Mapped[Decimal]
    unit: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="owed")
    payout_reference: Mapped[str | None] = mapped_column(String(200))
    corrects_entry_id: Mapped[int | None] = mapped_column(ForeignKey("compensation_entries.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PaymentEvent(Base):
    """owed -> approved -> paid / failed, one row per move, with who and why."""

    __tablename__ = "payment_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("compensation_entries.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str | None] = mapped_column(String(200))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("contributors.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Release(Base):
    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("campaign_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    version: Mapped[str] = mapped_column(String(40))
    licence: Mapped[str] = mapped_column(String(64))
    item_versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Public item id -> version included."""
    withdrawn_ids: Mapped[list[Any]] = mapped_column(default=list)
    bundle_sha256: Mapped[str | None] = mapped_column(String(64))
    hub_repo: Mapped[str | None] = mapped_column(String(200))
    hub_commit: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("contributors.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("contributors.id"))
    action: Mapped[str] = mapped_column(String(64))
    record_type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str | None] = mapped_column(String(80))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignInThrottle(Base):
    """Failed sign-ins counted per key (a hashed login name, or a hashed client address), so
    that every collector and dashboard process on one database throttles together."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    """'login:<sha256 of the login name>', 'client:<sha256 of the client address>', or 'global'
    (every failure in the store, for the overall cap)."""
    failures: Mapped[int] = mapped_column(Integer, default=0)
    """Attempts not (yet) known to have succeeded, counted from the first after a quiet spell."""
    blocked_until: Mapped[datetime | None]
    last_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class WebSession(Base):
    """A signed-in browser: what lets a reload, a locked phone or a dropped connection come
    back signed in. Only hashes are kept: the token lives in the browser's HttpOnly cookie,
    the hand-off (a one-use key that turns into that cookie) in the page for a moment."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_contributor", "contributor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contributor_id: Mapped[int] = mapped_column(ForeignKey("contributors.id"))
    token_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    """SHA-256 of the cookie's token (256 random bits); null until the hand-off is used."""
    handoff_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    """SHA-256 of the one-use hand-off; null once used."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]



class Draft(Base):
    """A half-written item, kept server-side per person, campaign and form so that a reload, a
    locked phone, a dropped connection or another server process gives it back. Private: never
    read by a release, deleted on submit and on withdrawal."""

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("contributor_id", "campaign_id", "form"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contributor_id: Mapped[int] = mapped_column(ForeignKey("contributors.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    form: Mapped[str] = mapped_column(String(32))
    """Which form of the collector (e.g. "pr", "cx", "sp")."""
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The widgets' values as typed (text, choices, ticks), and the draft's submission key."""
    audio: Mapped[bytes | None] = mapped_column(LargeBinary)
    """A speech form's recording, until the item is sent (at most `MAX_DRAFT_AUDIO` bytes)."""
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AppSetting(Base):
    """A setting an organiser changes in the app (e.g. how long an idle sign-in lasts), for
    every process on one store."""

    __tablename__ = "app_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("contributors.id"))


class Kit(Base):
    """A field kit: issued by a central store for one campaign (`made_here`), or, in a field
    store made from one, the kit it came from (`made_here` false). Its id is what the field's
    records carry as `kit_id`."""

    __tablename__ = "kits"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_uid)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    made_here: Mapped[bool] = mapped_column(Boolean)
    token_sha256: Mapped[str | None] = mapped_column(String(64))
    """SHA-256 of the kit's secret token, which its bundles carry inside their encryption: the
    central key is public (every kit holds it), so only the token proves a bundle is the kit's."""
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("contributors.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """An organiser-issued token that lets a field laptop push its bundle to this store's
    upload route (`jamii kit push`), for one campaign. Only its SHA-256 is kept; it works
    while not revoked and while the organiser who issued it is still one."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int] = mapped_column(ForeignKey("contributors.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("contributors.id"))


class KnownContent(Base):
    """In a field store: the content hashes of the central store's items when the kit was made
    (never their texts), so a duplicate is refused in the field as it would be centrally."""

    __tablename__ = "kit_known_content"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    content_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
