"""auth: end users, identities, sessions, refresh tokens, MFA, one-time tokens, OAuth flows,
providers, signing keys and the auth configuration

Revision ID: project_auth_0001
Revises:
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "project_auth_0001"
down_revision: str | None = None
branch_labels: Sequence[str] | None = ("project_auth",)
depends_on: Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
ID = sa.String(36)


def _user_fk() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", ID, primary_key=True),
        sa.Column("email", sa.String(320)),
        sa.Column("phone", sa.String(32)),
        sa.Column("encrypted_password", sa.Text),
        sa.Column("email_confirmed_at", TS),
        sa.Column("phone_confirmed_at", TS),
        sa.Column("confirmation_sent_at", TS),
        sa.Column("recovery_sent_at", TS),
        sa.Column("new_email", sa.String(320)),
        sa.Column("email_change_sent_at", TS),
        sa.Column("invited_at", TS),
        sa.Column("last_sign_in_at", TS),
        sa.Column("banned_until", TS),
        sa.Column("is_anonymous", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("app_metadata", sa.Text, nullable=False),
        sa.Column("user_metadata", sa.Text, nullable=False),
        sa.Column("locale", sa.String(35)),
        sa.Column("password_changed_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("users_email_key", "users", ["email"], unique=True)
    op.create_index("users_phone_key", "users", ["phone"], unique=True)
    op.create_index("users_created_at_idx", "users", ["created_at"])
    op.create_table(
        "identities",
        sa.Column("id", ID, primary_key=True),
        _user_fk(),
        sa.Column("provider", sa.String(63), nullable=False),
        sa.Column("provider_id", sa.String(255), nullable=False),
        sa.Column("identity_data", sa.Text, nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("last_sign_in_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("provider", "provider_id", name="identities_provider_key"),
    )
    op.create_index("identities_user_idx", "identities", ["user_id"])
    op.create_table(
        "sessions",
        sa.Column("id", ID, primary_key=True),
        _user_fk(),
        sa.Column("aal", sa.String(8), nullable=False),
        sa.Column("amr", sa.Text, nullable=False),
        sa.Column("factor_id", ID),
        sa.Column("user_agent", sa.String(512)),
        sa.Column("ip", sa.String(64)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("refreshed_at", TS, nullable=False),
        sa.Column("not_after", TS, nullable=False),
    )
    op.create_index("sessions_user_idx", "sessions", ["user_id"])
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "session_id", ID, sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS),
    )
    op.create_index("refresh_tokens_session_idx", "refresh_tokens", ["session_id"])
    op.create_table(
        "mfa_factors",
        sa.Column("id", ID, primary_key=True),
        _user_fk(),
        sa.Column("friendly_name", sa.String(200), nullable=False),
        sa.Column("factor_type", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("last_used_step", sa.BigInteger),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("user_id", "friendly_name", name="mfa_factors_name_key"),
    )
    op.create_table(
        "mfa_challenges",
        sa.Column("id", ID, primary_key=True),
        sa.Column(
            "factor_id", ID, sa.ForeignKey("mfa_factors.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("ip", sa.String(64)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("verified_at", TS),
    )
    op.create_table(
        "mfa_recovery_codes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _user_fk(),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("used_at", TS),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("mfa_recovery_codes_user_idx", "mfa_recovery_codes", ["user_id"])
    op.create_table(
        "one_time_tokens",
        sa.Column("id", ID, primary_key=True),
        _user_fk(),
        sa.Column("token_type", sa.String(32), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("relates_to", sa.String(320), nullable=False),
        sa.Column("flow_state_id", ID),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("one_time_tokens_user_idx", "one_time_tokens", ["user_id", "token_type"])
    op.create_table(
        "flow_states",
        sa.Column("id", ID, primary_key=True),
        sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE")),
        sa.Column("provider", sa.String(63), nullable=False),
        sa.Column("authentication_method", sa.String(32), nullable=False),
        sa.Column("auth_code_hash", sa.String(64), unique=True),
        sa.Column("code_challenge", sa.String(128)),
        sa.Column("code_challenge_method", sa.String(8)),
        sa.Column("redirect_to", sa.Text),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS),
    )
    op.create_table(
        "auth_providers",
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("client_secret", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("alg", sa.String(8), nullable=False),
        sa.Column("private_key", sa.Text, nullable=False),
        sa.Column("public_jwk", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("retired_at", TS),
    )
    op.create_table(
        "auth_config",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "auth_config", "signing_keys", "auth_providers", "flow_states", "one_time_tokens",
        "mfa_recovery_codes", "mfa_challenges", "mfa_factors", "refresh_tokens", "sessions",
        "identities", "users",
    ):
        op.drop_table(table)
