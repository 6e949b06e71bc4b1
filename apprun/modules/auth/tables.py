"""The auth module's tables in each project database (created by migration ``0004_auth``)."""

from __future__ import annotations

import sqlalchemy as sa

from apprun.core.types import UtcDateTime

metadata = sa.MetaData()
ID = sa.String(36)


def _ts(name: str, *, required: bool = False) -> sa.Column[object]:
    return sa.Column(name, UtcDateTime, nullable=not required)


users = sa.Table(
    "users",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("email", sa.String(320)),
    sa.Column("phone", sa.String(32)),
    sa.Column("encrypted_password", sa.Text),
    _ts("email_confirmed_at"),
    _ts("phone_confirmed_at"),
    _ts("confirmation_sent_at"),
    _ts("recovery_sent_at"),
    sa.Column("new_email", sa.String(320)),
    _ts("email_change_sent_at"),
    _ts("invited_at"),
    _ts("last_sign_in_at"),
    _ts("banned_until"),
    sa.Column("is_anonymous", sa.Boolean, nullable=False, default=False),
    sa.Column("app_metadata", sa.Text, nullable=False),
    sa.Column("user_metadata", sa.Text, nullable=False),
    sa.Column("locale", sa.String(35)),
    _ts("password_changed_at"),
    _ts("created_at", required=True),
    _ts("updated_at", required=True),
)

identities = sa.Table(
    "identities",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("provider", sa.String(63), nullable=False),
    sa.Column("provider_id", sa.String(255), nullable=False),
    sa.Column("identity_data", sa.Text, nullable=False),
    sa.Column("email", sa.String(320)),
    _ts("last_sign_in_at"),
    _ts("created_at", required=True),
    _ts("updated_at", required=True),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("aal", sa.String(8), nullable=False),
    sa.Column("amr", sa.Text, nullable=False),
    sa.Column("factor_id", ID),
    sa.Column("user_agent", sa.String(512)),
    sa.Column("ip", sa.String(64)),
    _ts("created_at", required=True),
    _ts("refreshed_at", required=True),
    _ts("not_after", required=True),
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("session_id", ID, sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
    _ts("created_at", required=True),
    _ts("revoked_at"),
)

mfa_factors = sa.Table(
    "mfa_factors",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("friendly_name", sa.String(200), nullable=False),
    sa.Column("factor_type", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("secret", sa.Text, nullable=False),
    sa.Column("last_used_step", sa.BigInteger),
    _ts("created_at", required=True),
    _ts("updated_at", required=True),
)

mfa_challenges = sa.Table(
    "mfa_challenges",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("factor_id", ID, sa.ForeignKey("mfa_factors.id", ondelete="CASCADE"), nullable=False),
    sa.Column("ip", sa.String(64)),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    _ts("created_at", required=True),
    _ts("verified_at"),
)

mfa_recovery_codes = sa.Table(
    "mfa_recovery_codes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("code_hash", sa.String(64), nullable=False),
    _ts("used_at"),
    _ts("created_at", required=True),
)

one_time_tokens = sa.Table(
    "one_time_tokens",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("token_type", sa.String(32), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("relates_to", sa.String(320), nullable=False),
    sa.Column("flow_state_id", ID),
    _ts("created_at", required=True),
    _ts("expires_at", required=True),
)

flow_states = sa.Table(
    "flow_states",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE")),
    sa.Column("provider", sa.String(63), nullable=False),
    sa.Column("authentication_method", sa.String(32), nullable=False),
    sa.Column("auth_code_hash", sa.String(64), unique=True),
    sa.Column("code_challenge", sa.String(128)),
    sa.Column("code_challenge_method", sa.String(8)),
    sa.Column("redirect_to", sa.Text),
    sa.Column("data", sa.Text, nullable=False),
    _ts("created_at", required=True),
    _ts("expires_at", required=True),
    _ts("used_at"),
)

auth_providers = sa.Table(
    "auth_providers",
    metadata,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("client_secret", sa.Text),
    _ts("created_at", required=True),
    _ts("updated_at", required=True),
)

signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.String(64), primary_key=True),
    sa.Column("alg", sa.String(8), nullable=False),
    sa.Column("private_key", sa.Text, nullable=False),
    sa.Column("public_jwk", sa.Text, nullable=False),
    _ts("created_at", required=True),
    _ts("retired_at"),
)

auth_config = sa.Table(
    "auth_config",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    _ts("updated_at", required=True),
)
