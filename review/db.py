"""The reviewer database (SQLAlchemy): users, sessions, decisions, login attempts and the audit log.

SQLite (``STATE/review.db``) by default; PostgreSQL by URL (``postgresql+psycopg://…``, needs the
``psycopg`` driver). Tables are created on first use.

The audit log is append-only and hash-chained: row ``seq`` stores ``prev_hash`` (the previous row's
hash, 64 zeros for the first) and ``hash = sha256(prev_hash + canonical JSON of the row)``, where the
canonical JSON has sorted keys, no spaces and covers every column except ``hash``. ``seq`` and
``prev_hash`` are unique, so two writers racing for the same position cannot both succeed (the
loser retries). No code path updates or deletes audit rows; :func:`verify_audit` recomputes the
chain and names the first row that does not match.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from sqlalchemy import (
    Boolean,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

GENESIS = "0" * 64
ROLES = ("reviewer", "supervisor", "admin")
ACTIONS = ("confirm", "dismiss", "escalate", "repair")
class Status(StrEnum):
    """A reviewer decision's status."""

    FINAL = "final"  # effective
    PENDING = "pending_supervisor"  # needs a supervisor
    ESCALATED = "escalated"
    APPROVED = "approved"  # a supervisor approved a pending one: effective
    REJECTED = "rejected"  # a supervisor turned it down


EFFECTIVE = (Status.FINAL, Status.APPROVED)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[str] = mapped_column(String(40))


class UserSession(Base):
    """Server-side sessions: the signed cookie holds only the random session id, so logout and
    deactivation take effect at once."""

    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(String(40))
    last_seen: Mapped[str] = mapped_column(String(40))


class LoginAttempt(Base):
    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(200), index=True)
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[str] = mapped_column(String(40), index=True)
    ok: Mapped[bool] = mapped_column(Boolean)


class Decision(Base):
    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    applicant_key: Mapped[str] = mapped_column(String(400), index=True)
    applicant_name: Mapped[str] = mapped_column(Text, default="")
    run_as_of: Mapped[str] = mapped_column(String(40))
    grade: Mapped[str] = mapped_column(String(4))
    action: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30))
    comment: Mapped[str] = mapped_column(Text, default="")
    reviewer: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[str] = mapped_column(String(40))
    supervisor: Mapped[str] = mapped_column(String(100), default="")
    supervisor_comment: Mapped[str] = mapped_column(Text, default="")
    supervised_at: Mapped[str] = mapped_column(String(40), default="")


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (UniqueConstraint("prev_hash", name="uq_audit_prev_hash"),)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Quota(Base):
    """Per-user daily counters (rows read, exports): one row per (user, UTC day, kind), raised by a
    single conditional UPDATE, so parallel requests cannot overrun a limit."""

    __tablename__ = "quotas"
    user: Mapped[str] = mapped_column(String(100), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    used: Mapped[int] = mapped_column(Integer, default=0)


class ApiToken(Base):
    """A filing system's token for the screening API. Only the SHA-256 of the token is stored (the
    token itself is 32 random bytes, shown once): a stolen database does not give working tokens."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client: Mapped[str] = mapped_column(String(100), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(200))  # space-separated
    created_at: Mapped[str] = mapped_column(String(40))
    created_by: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[str] = mapped_column(String(40), default="")


# screen: POST /api/screen; status: GET /api/status (which index is served, for monitoring)
API_SCOPES = ("screen", "status")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_token(db: sessionmaker[Session], client: str, scopes: list[str], actor: str) -> tuple[int, str]:
    """A new token for ``client`` with ``scopes`` (audited): (its id, the token, shown only now)."""
    import secrets

    unknown = sorted(set(scopes) - set(API_SCOPES))
    if unknown or not scopes or not client.strip():
        raise ValueError(f"a token needs a client name and scopes among {', '.join(API_SCOPES)} "
                         f"(unknown: {', '.join(unknown) or '-'})")
    token = "tms_" + secrets.token_urlsafe(32)

    def work(s):
        row = ApiToken(client=client.strip(), token_hash=token_hash(token), scopes=" ".join(sorted(set(scopes))),
                       created_at=iso(utcnow()), created_by=actor)
        s.add(row)
        return row, lambda: {"id": row.id, "client": row.client, "scopes": row.scopes}

    row = audited(db, actor, "token_add", client, "", work)
    return row.id, token


def revoke_token(db: sessionmaker[Session], token_id: int, actor: str) -> None:
    """Revoke a token (audited); it is refused from the next request on."""
    def work(s):
        row = s.get(ApiToken, token_id)
        if row is None or row.revoked_at:
            raise ValueError(f"no active API token with id {token_id}")
        row.revoked_at = iso(utcnow())
        return None, {"id": token_id, "client": row.client}

    audited(db, actor, "token_revoke", str(token_id), "", work)


def token_of(db: sessionmaker[Session], token: str) -> ApiToken | None:
    """The active token row of a presented token, else None."""
    with db() as s:
        row = s.execute(select(ApiToken).where(ApiToken.token_hash == token_hash(token))).scalar_one_or_none()
        return row if row is not None and not row.revoked_at else None


AUDIT_FIELDS = ("seq", "at", "actor", "action", "target", "ip", "details", "prev_hash")


def default_db_url(state: Path) -> str:
    return f"sqlite:///{(Path(state) / 'review.db').resolve()}"


def make_engine(url: str) -> Engine:
    kwargs: dict = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            # password hashes and live session ids: the owner's only, whoever creates it
            path = Path(url[len("sqlite:///"):])
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            os.chmod(path, 0o600)
    engine = create_engine(url, **kwargs)
    Base.metadata.create_all(engine)
    return engine


def make_sessionmaker(engine: Engine, anchor: Path | None = None) -> sessionmaker[Session]:
    """Sessions of the review database; ``anchor``: the audit chain's append-only anchor file."""
    maker = sessionmaker(engine, expire_on_commit=False)
    maker.audit_anchor = anchor  # read by ``audited`` and ``verify_audit``
    return maker


def anchor_path(url: str, state: Path | None) -> Path | None:
    """Where the audit chain is anchored: beside an SQLite database file (``review.db`` →
    ``review.db.anchor``), else in the state folder; None without either."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url[len("sqlite:///"):] + ".anchor")
    return Path(state) / "review-audit.anchor" if state else None


def _anchor(db: sessionmaker[Session], rec: AuditRow) -> None:
    """Append the new head of the chain (seq, hash) to the anchor file: a line is only ever added
    (O_APPEND, created 0600), so a chain rewritten or cut in the database no longer matches it."""
    path = getattr(db, "audit_anchor", None)
    if path is None:
        return
    line = json.dumps({"seq": rec.seq, "hash": rec.hash, "at": rec.at}, separators=(",", ":")) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def _anchored(db: sessionmaker[Session]) -> list[dict] | None:
    path = getattr(db, "audit_anchor", None)
    if path is None or not Path(path).exists():
        return None
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut by a crash while it was written
    return out


# --------------------------------------------------------------------------- audit chain
def canonical(row: dict) -> str:
    return json.dumps({k: row[k] for k in AUDIT_FIELDS}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


def row_hash(row: dict) -> str:
    return hashlib.sha256((row["prev_hash"] + canonical(row)).encode("utf-8")).hexdigest()


_AUDIT_LOCK = threading.Lock()


def _next_audit_row(s: Session, actor: str, action: str, target: str, details: dict | None, ip: str) -> AuditRow:
    det = json.dumps(details or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    last = s.execute(select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)).scalar_one_or_none()
    row = {"seq": (last.seq + 1) if last else 1, "at": iso(utcnow()), "actor": actor, "action": action,
           "target": target, "ip": ip, "details": det, "prev_hash": last.hash if last else GENESIS}
    return AuditRow(**row, hash=row_hash(row))


def audited(db: sessionmaker[Session], actor: str, action: str, target: str, ip: str,
            work: Callable[[Session], tuple[object, dict]]):
    """Run ``work(session)`` (it adds or changes rows and returns ``(result, audit details)``) and
    append its audit row **in the same transaction**: the change and its audit row are stored both
    or neither, whatever stops the process. Retries (re-running ``work``) if another writer took the
    chain's next slot; an exception from ``work`` stores nothing."""
    for _ in range(20):
        with _AUDIT_LOCK, db() as s:
            result, details = work(s)
            s.flush()  # new rows get their ids, which the details may name
            rec = _next_audit_row(s, actor, action, target, details() if callable(details) else details, ip)
            s.add(rec)
            try:
                s.commit()
            except IntegrityError:  # another process appended first: read the new head and retry
                s.rollback()
                continue
            _anchor(db, rec)
            return result
    raise RuntimeError("could not append to the audit log (too much contention)")


def append_audit(db: sessionmaker[Session], actor: str, action: str, target: str = "", details: dict | None = None,
                 ip: str = "") -> None:
    """Append one row to the chain (its own transaction)."""
    audited(db, actor, action, target, ip, lambda s: (None, details))


def verify_audit(db: sessionmaker[Session]) -> tuple[bool, str, int]:
    """Recompute the chain. Returns (ok, message, rows checked); the message names the first bad row."""
    prev, expected_seq, n = GENESIS, 1, 0
    hashes: dict[int, str] = {}
    with db() as s:
        for rec in s.execute(select(AuditRow).order_by(AuditRow.seq)).scalars():
            hashes[rec.seq] = rec.hash
            row = {k: getattr(rec, k) for k in AUDIT_FIELDS}
            if rec.seq != expected_seq:
                return False, f"audit row {expected_seq} is missing (next row found: {rec.seq})", n
            if rec.prev_hash != prev:
                return False, (f"audit row {rec.seq}: prev_hash {rec.prev_hash[:12]}… does not match the hash of "
                               f"row {rec.seq - 1} ({prev[:12]}…): a row was changed, removed or inserted"), n
            if row_hash(row) != rec.hash:
                return False, (f"audit row {rec.seq} ({rec.action} by {rec.actor} at {rec.at}): stored hash does not "
                               "match its content: the row was edited"), n
            prev, expected_seq, n = rec.hash, expected_seq + 1, n + 1
    anchored = _anchored(db)
    if anchored is None and getattr(db, "audit_anchor", None) is not None and n:
        return False, (f"the anchor file {db.audit_anchor} is missing while the chain has {n} rows: it was "
                       "deleted, or the chain was written without it"), n
    for a in anchored or []:
        if a.get("seq") not in hashes:
            return False, (f"audit row {a.get('seq')} was anchored at {a.get('at')} but is gone from the database: "
                           "rows were deleted"), n
        if hashes[a["seq"]] != a.get("hash"):
            return False, (f"audit row {a['seq']} does not match the hash anchored at {a.get('at')}: the chain "
                           "was rewritten"), n
    problems = unaudited_decisions(db)
    if problems:
        return False, problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""), n
    where = (f"{len(anchored)} anchors in {db.audit_anchor} match" if anchored else
             "no anchor file: a rewritten or shortened chain cannot be detected")
    return True, f"audit chain intact: {n} rows, head hash {prev}; {where}; every decision has its audit rows", n


def unaudited_decisions(db: sessionmaker[Session]) -> list[str]:
    """Decisions whose current state no audit row explains: each decision needs its "decision" row,
    and a status a supervisor set needs the supervisor's row (the last row naming the decision gives
    its status)."""
    status_of: dict[int, str] = {}
    supervised_by = {"decision_approved": Status.APPROVED, "decision_rejected": Status.REJECTED}
    with db() as s:
        for action, details in s.execute(select(AuditRow.action, AuditRow.details).where(
                AuditRow.action.in_(("decision", *supervised_by))).order_by(AuditRow.seq)):
            d = json.loads(details or "{}")
            if "decision_id" in d:
                status_of[int(d["decision_id"])] = d.get("status") or supervised_by.get(action, "")
        decisions = s.execute(select(Decision.id, Decision.applicant_key, Decision.status)
                              .order_by(Decision.id)).all()
    problems = []
    for dec_id, key, status in decisions:
        if dec_id not in status_of:
            problems.append(f"decision {dec_id} ({key}, {status}) has no audit row: it was stored around the app")
        elif status_of[dec_id] != status:
            problems.append(f"decision {dec_id} ({key}) is '{status}' but its audit rows say '{status_of[dec_id]}'")
    return problems


def add_user(db: sessionmaker[Session], name: str, role: str, password: str) -> User:
    from review.security import hash_password

    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    if not name or len(name) > 100 or any(c.isspace() for c in name):
        raise ValueError(f"user name must be 1-100 characters without spaces; got {name!r}")
    if len(password) < 8:
        raise ValueError("password must have at least 8 characters")
    with db() as s:
        existing = s.execute(select(User).where(User.name == name)).scalar_one_or_none()
        if existing is not None:  # a password reset: the old sessions end with the old password
            existing.role, existing.password_hash, existing.active = role, hash_password(password), True
            user = existing
            s.execute(delete(UserSession).where(UserSession.user_id == existing.id))
        else:
            user = User(name=name, role=role, password_hash=hash_password(password), active=True,
                        created_at=iso(utcnow()))
            s.add(user)
        s.commit()
        return user


def deactivate_user(db: sessionmaker[Session], name: str) -> None:
    """The user can no longer log in, and its open sessions end at once."""
    with db() as s:
        user = s.execute(select(User).where(User.name == name)).scalar_one_or_none()
        if user is None:
            raise ValueError(f"no user named {name!r}")
        user.active = False
        s.execute(delete(UserSession).where(UserSession.user_id == user.id))
        s.commit()


_LOGIN_LOCK = threading.Lock()


def reserve_login(db: sessionmaker[Session], username: str, ip: str, window: timedelta, max_failures: int,
                  keep: timedelta = timedelta(days=1), session_max: timedelta = timedelta(hours=12)) -> int | None:
    """Count the failed attempts of this user name + IP within ``window`` and, below the limit,
    store this attempt as failed *before* its password is checked (``settle_login`` marks it good):
    concurrent attempts see each other, so at most ``max_failures`` passwords are ever hashed per
    window. Returns the attempt's id, or None when over the limit. Prunes attempts older than
    ``keep`` and sessions older than ``session_max`` (the audit log keeps the history)."""
    now = utcnow()
    with _LOGIN_LOCK, db() as s:
        failed = int(s.execute(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.username == username[:200], LoginAttempt.ip == ip, LoginAttempt.ok.is_(False),
            LoginAttempt.at >= iso(now - window))).scalar_one())
        if failed >= max_failures:
            return None
        attempt = LoginAttempt(username=username[:200], ip=ip, at=iso(now), ok=False)
        s.add(attempt)
        s.execute(delete(LoginAttempt).where(LoginAttempt.at < iso(now - keep)))
        s.execute(delete(UserSession).where(UserSession.created_at < iso(now - session_max)))
        s.commit()
        return attempt.id


def settle_login(db: sessionmaker[Session], attempt_id: int) -> None:
    """Mark a reserved attempt as a successful login."""
    with db() as s:
        attempt = s.get(LoginAttempt, attempt_id)
        if attempt is not None:
            attempt.ok = True
            s.commit()


def take_quota(db: sessionmaker[Session], user: str, kind: str, n: int, limit: int) -> bool:
    """Use ``n`` of the user's daily ``limit`` of ``kind``; False (nothing used) when it would pass
    the limit. The check and the increment are one UPDATE statement: atomic in SQLite and PostgreSQL."""
    day = utcnow().strftime("%Y-%m-%d")
    with db() as s:
        try:
            s.add(Quota(user=user, day=day, kind=kind, used=0))
            s.commit()
        except IntegrityError:  # the day's row exists
            s.rollback()
        done = s.execute(update(Quota).where(Quota.user == user, Quota.day == day, Quota.kind == kind,
                                             Quota.used + n <= limit).values(used=Quota.used + n)).rowcount
        s.commit()
        return bool(done)
