"""Published rules versions: publish, activate, and the active compiled program.

A version's text is immutable, so its compiled ``Program`` is cached per
process by content hash (a version number names different texts in two
databases); *which* version is active is always read from the database, so
every process switches together on publish or rollback.
"""

import hashlib
from dataclasses import dataclass
from threading import Lock

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from loyalty import clock
from loyalty.engine import Program, RulesInvalid, load_program
from loyalty.errors import NotFound, RulesRejected, ServiceUnavailable
from loyalty.models import RulesActivation, RulesVersion
from loyalty.services import audit, publish_risks

_compiled: dict[str, Program] = {}
_compiled_lock = Lock()
MAX_VERSION = 2**31 - 1


@dataclass(frozen=True)
class ActiveRules:
    version: int
    program: Program


def compile_rules(text: str, filename: str = "program.yaml") -> Program:
    try:
        return load_program(text, filename)
    except RulesInvalid as invalid:
        raise RulesRejected([error.as_dict() for error in invalid.errors]) from None


def active_version_number(session: Session) -> int | None:
    return session.scalar(
        select(RulesActivation.version).order_by(RulesActivation.id.desc()).limit(1)
    )


#: Read on every request that applies rules, so built once; the API reads it with the caller's key.
ACTIVE_VERSION_SQL = (
    "SELECT a.version, v.content_hash FROM rules_activations a"
    " JOIN rules_versions v ON v.version = a.version ORDER BY a.id DESC LIMIT 1"
)
ACTIVE_VERSION = text(ACTIVE_VERSION_SQL)


def active_rules(session: Session, active: tuple[int, str] | None = None) -> ActiveRules:
    """The active version's rules; ``active`` is its (version, content hash) if already read."""
    version, digest = active or session.execute(ACTIVE_VERSION).first() or (None, None)
    if version is None:
        raise ServiceUnavailable("No rules are published yet: run `flask --app app rules load rules/`.")
    return ActiveRules(version, _program(session, version, digest))


def rules_active_at(session: Session):
    """``at(moment)`` → the rules that were active at ``moment`` (the first version's before any was)."""
    history = session.execute(
        select(RulesActivation.activated_at, RulesActivation.version, RulesVersion.content_hash)
        .join(RulesVersion, RulesVersion.version == RulesActivation.version).order_by(RulesActivation.id)).all()
    if not history:
        raise ServiceUnavailable("No rules are published yet: run `flask --app app rules load rules/`.")

    def at(moment) -> ActiveRules:
        _, version, digest = next((row for row in reversed(history) if row.activated_at <= moment), history[0])
        return ActiveRules(version, _program(session, version, digest))

    return at


def program_for_version(session: Session, version: int) -> Program:
    digest = session.scalar(select(RulesVersion.content_hash).where(RulesVersion.version == version))
    if digest is None:
        raise NotFound(f"No rules version {version}.")
    return _program(session, version, digest)


def _program(session: Session, version: int, digest: str) -> Program:
    program = _compiled.get(digest)
    if program is None:
        program = compile_rules(session.scalar(select(RulesVersion.yaml).where(RulesVersion.version == version)))
        with _compiled_lock:
            _compiled[digest] = program
    return program


def publish(session: Session, text: str, published_by: str | None, note: str | None = None,
            confirm: bool = False) -> RulesVersion:
    """Validate, store as a new version and activate it; returns the version. A risky change
    (``publish_risks``) raises ``confirmation_required`` unless ``confirm``."""
    program = compile_rules(text)
    now, (previous, current) = clock.now(), _active(session)
    warnings = publish_risks.require_confirmation(session, current, program, now, confirm, "This change")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    with _compiled_lock:
        _compiled[digest] = program
    row = RulesVersion(yaml=text, content_hash=digest, published_at=now, published_by=published_by, note=note)
    session.add(row)
    session.flush()
    session.add(RulesActivation(version=row.version, activated_at=now, activated_by=published_by))
    audit.record(session, published_by, "publish", f"rules version {row.version}", now, note,
                 {"version": row.version, "previous_version": previous,
                  "content_hash": digest, "confirmed_warnings": warnings})
    return row


def activate(session: Session, version: int, activated_by: str | None, confirm: bool = False) -> RulesVersion:
    """Make an earlier version active again; as risky as publishing it, so it asks the same confirmation."""
    row = get_version(session, version)
    if row is None:
        raise NotFound(f"No rules version {version}.")
    now, (previous, current) = clock.now(), _active(session)
    warnings = publish_risks.require_confirmation(
        session, current, _program(session, version, row.content_hash), now, confirm,
        f"Rolling back to version {version}")
    session.add(RulesActivation(version=version, activated_at=now, activated_by=activated_by))
    audit.record(session, activated_by, "rollback", f"rules version {version}", now, None,
                 {"version": version, "previous_version": previous, "confirmed_warnings": warnings})
    return row


def _active(session: Session) -> tuple[int | None, Program | None]:
    """The active version's number and program, in one read; (None, None) before the first publish."""
    active = session.execute(ACTIVE_VERSION).first()
    return (None, None) if active is None else (active[0], _program(session, *active))


def get_version(session: Session, version: int | None) -> RulesVersion | None:
    """A version by number; numbers no column could hold are simply not found."""
    return session.get(RulesVersion, version) if version and 1 <= version <= MAX_VERSION else None


def active_version(session: Session) -> RulesVersion | None:
    version = active_version_number(session)
    return session.get(RulesVersion, version) if version is not None else None


def versions(session: Session) -> list[RulesVersion]:
    return list(session.scalars(select(RulesVersion).order_by(RulesVersion.version.desc())))
