"""SQLAlchemy models, one module per aggregate."""

from loyalty.models.api_key import ApiKey
from loyalty.models.audit import AuditRecord
from loyalty.models.card import CardStamp, MemberCard
from loyalty.models.challenge import ChallengeCompletion, ChallengeEntry, MemberBadge
from loyalty.models.event import Event, Refund
from loyalty.models.idempotency import IdempotencyRecord
from loyalty.models.identity import MemberAlias, PointTransfer
from loyalty.models.jobs import LotRedating
from loyalty.models.ledger import LedgerEntry, Lot, LotDraw, MemberDay, QualifyingPoints, RuleUsage
from loyalty.models.member import Member
from loyalty.models.outbox import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from loyalty.models.redemption import Redemption, RewardStock
from loyalty.models.reminder import ExpiryReminder, TierReminder
from loyalty.models.rules_version import RulesActivation, RulesVersion
from loyalty.models.streak import MemberStreak, StreakEntry
from loyalty.models.stripe_event import StripeEvent
from loyalty.models.tier_change import TierChange

__all__ = [
    "ApiKey",
    "AuditRecord",
    "CardStamp",
    "ChallengeCompletion",
    "ChallengeEntry",
    "Event",
    "ExpiryReminder",
    "IdempotencyRecord",
    "LedgerEntry",
    "Lot",
    "LotDraw",
    "LotRedating",
    "Member",
    "MemberAlias",
    "MemberBadge",
    "MemberCard",
    "MemberDay",
    "MemberStreak",
    "OutboxEvent",
    "PointTransfer",
    "QualifyingPoints",
    "Redemption",
    "Refund",
    "RewardStock",
    "RuleUsage",
    "RulesActivation",
    "RulesVersion",
    "StreakEntry",
    "StripeEvent",
    "TierChange",
    "TierReminder",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
