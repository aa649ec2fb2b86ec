"""Users, passwords, roles, queue memberships and API tokens."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from app.errors import AuthenticationError, ValidationFailedError
from app.extensions import db
from app.models import ROLES, Queue, User

# OWASP's minimum argon2id profile: cheap enough for a login per test, still memory-hard.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_DUMMY_HASH = _hasher.hash("guichet-timing-equaliser")


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _hasher.hash(password)


def ensure_queues(names: list[str]) -> list[Queue]:
    """Return the queues of these names, creating the missing ones."""
    if not names:
        return []
    existing = {q.name: q for q in db.session.scalars(select(Queue).where(Queue.name.in_(names)))}
    for name in names:
        if name not in existing:
            existing[name] = Queue(name=name)
            db.session.add(existing[name])
    db.session.flush()
    return [existing[n] for n in names]


def create_user(username: str, password: str, role: str, queues: list[str] | None = None,
                full_name: str | None = None) -> User:
    """Create a user, or update role, password and queues of an existing one (idempotent)."""
    username = username.strip()
    if not username or len(username) > 80:
        raise ValidationFailedError("username must be 1 to 80 characters",
                                    [{"field": "username", "message": "1 to 80 characters"}])
    if role not in ROLES:
        raise ValidationFailedError(f"unknown role {role!r}; one of {', '.join(ROLES)}",
                                    [{"field": "role", "message": f"one of {', '.join(ROLES)}"}])
    if len(password) < 4:
        raise ValidationFailedError("password too short", [{"field": "password", "message": "at least 4 characters"}])
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, role=role, password_hash=hash_password(password), full_name=full_name)
        db.session.add(user)
    else:
        user.role = role
        if not verify_password(user, password):
            user.password_hash = hash_password(password)
            user.token_generation = (user.token_generation or 0) + 1
        if full_name:
            user.full_name = full_name
    user.queues = ensure_queues(sorted(set(queues or [])))
    db.session.flush()
    return user


def verify_password(user: User, password: str) -> bool:
    """True when the password matches the user's hash."""
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(username: str, password: str) -> User:
    """The active user with these credentials, or AuthenticationError."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        # Same work as a real check, so that timing does not reveal which usernames exist.
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        raise AuthenticationError("invalid username or password")
    if not user.active or not verify_password(user, password):
        raise AuthenticationError("invalid username or password")
    return user


def _token_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="guichet-api-token")


def issue_token(user: User) -> tuple[str, int]:
    """A signed bearer token for the user and its lifetime in seconds."""
    token = _token_serializer().dumps({"u": user.id, "g": user.token_generation or 0})
    return token, int(current_app.config["TOKEN_TTL_SECONDS"])


def user_from_token(token: str) -> User:
    """The user a bearer token names, or AuthenticationError when invalid or expired."""
    try:
        payload = _token_serializer().loads(token, max_age=current_app.config["TOKEN_TTL_SECONDS"])
    except SignatureExpired as exc:
        raise AuthenticationError("token expired") from exc
    except BadSignature as exc:
        raise AuthenticationError("invalid token") from exc
    user = db.session.get(User, payload.get("u"))
    if user is None or not user.active or (user.token_generation or 0) != payload.get("g"):
        raise AuthenticationError("invalid token")
    return user


def get_user(username: str) -> User | None:
    """The user of this name, if any."""
    return db.session.scalar(select(User).where(User.username == username))
