"""The auth module: GoTrue-compatible end-user auth at /auth/v1 (users, sessions, JWT/JWKS,
refresh rotation, email flows, MFA, OAuth/OIDC login) and its admin API.

Other layers use only what this facade exports.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from apprun.core.cache import MarkerCache
from apprun.core.clock import Clock
from apprun.core.context import Principal, RequestContext
from apprun.core.hooks import Hooks
from apprun.core.ratelimit import RateLimiter
from apprun.core.tenancy import Placement, Tenancy
from apprun.lib.crypto import derive_key
from apprun.modules.auth.account import Account
from apprun.modules.auth.admin import AdminUsers, RoleAssigner
from apprun.modules.auth.config import AuthConfig, AuthConfigPatch, ConfigStore
from apprun.modules.auth.emaillinks import EmailLinks
from apprun.modules.auth.emails import EmailFlows
from apprun.modules.auth.flows import Flows
from apprun.modules.auth.invites import Invites
from apprun.modules.auth.kernel import AuditRecord, AuthKernel, PlacementOf, SiteSettings, UserRoles
from apprun.modules.auth.keys import SigningKeys
from apprun.modules.auth.limits import AuthLimits
from apprun.modules.auth.mailer import Mailer
from apprun.modules.auth.mfa import Mfa
from apprun.modules.auth.oauth import OAuth
from apprun.modules.auth.oauthclient import OAuthClient
from apprun.modules.auth.providers import Providers
from apprun.modules.auth.recovery import RecoveryCodes
from apprun.modules.auth.routes import build_routers
from apprun.modules.auth.sessions import Sessions
from apprun.modules.auth.signin import SignIn
from apprun.modules.auth.stepup import StepUp
from apprun.modules.auth.verification import Verification

__all__ = ["AuthConfig", "AuthConfigPatch", "AuthService"]


class AuthService:
    """Facade of the auth module."""

    def __init__(
        self,
        tenancy: Tenancy,
        hooks: Hooks,
        clock: Clock,
        placement_of: PlacementOf,
        audit: AuditRecord,
        user_roles: UserRoles,
        site_settings: SiteSettings,
        *,
        secret_key: str,
        public_url: str,
        session_cache: MarkerCache,
        limiter: RateLimiter,
        assign_roles: RoleAssigner,
        dev: bool = False,
    ) -> None:
        self.keys = SigningKeys(clock, derive_key(secret_key, "apprun/auth-signing-keys"))
        self.session_cache = session_cache
        sessions = Sessions(clock, self.keys, public_url, session_cache)
        configs = ConfigStore(clock, derive_key(secret_key, "apprun/auth-config"))
        self.kernel = AuthKernel(
            tenancy, hooks, clock, placement_of, audit, user_roles, site_settings, configs,
            sessions, self.keys, public_url, derive_key(secret_key, "apprun/auth-otp"),
        )  # fmt: skip
        # dev: without SMTP settings, mails (with their links) are logged instead.
        self.limits = AuthLimits(limiter, self.kernel.config)
        """Brute-force limits (sign-in, refresh, verify, OTP)."""
        self.links = EmailLinks(self.kernel, Mailer(dev=dev), self.limits)
        self.emails = EmailFlows(self.kernel, self.links, self.limits)
        self.signin = SignIn(self.kernel, self.emails, self.limits)
        self.account = Account(self.kernel, self.emails)
        self.flows = Flows(self.kernel, self.signin)
        self.links.bind(self.flows)
        self.invites = Invites(self.kernel, self.links)
        self.verification = Verification(self.kernel, self.signin, self.flows, self.limits)
        stepup = StepUp(self.kernel)
        self.mfa = Mfa(self.kernel, stepup, derive_key(secret_key, "apprun/auth-mfa-secrets"))
        self.recovery = RecoveryCodes(
            self.kernel, stepup, derive_key(secret_key, "apprun/auth-recovery-codes")
        )
        self.providers = Providers(
            self.kernel, derive_key(secret_key, "apprun/auth-providers"), OAuthClient(clock)
        )
        self.oauth = OAuth(
            self.kernel, self.signin, self.flows, self.providers,
            derive_key(secret_key, "apprun/auth-oauth-state"),
        )  # fmt: skip
        self.admin = AdminUsers(self.kernel, assign_roles)

    def routers(self) -> list[APIRouter]:
        return build_routers(self)

    async def authenticate(self, placement: Placement, token: str) -> Principal:
        """The end user an access token names (for the request pipeline)."""
        return await self.account.authenticate(placement, token)

    async def settings(self, ctx: RequestContext) -> dict[str, Any]:
        """GoTrue's ``GET /settings``: which sign-in methods are on."""
        config = await self.kernel.config(ctx)
        return {
            "external": {
                "email": config.external_email_enabled,
                "phone": False,
                "anonymous_users": config.anonymous_users_enabled,
                **dict.fromkeys(await self.providers.enabled_names(ctx), True),
            },
            "disable_signup": config.disable_signup,
            "mailer_autoconfirm": config.mailer_autoconfirm,
            "phone_autoconfirm": False,
            "sms_provider": "",
            "saml_enabled": False,
        }

    async def update_config(self, ctx: RequestContext, patch: AuthConfigPatch) -> AuthConfig:
        config = await self.kernel.configs.update(ctx, await self.kernel.db(ctx), patch)
        self.kernel.forget_config(ctx.project)
        await self.kernel.audit(
            ctx, "auth.config_updated", ctx.project, project_id=ctx.project,
            keys=sorted(patch.model_dump(exclude_unset=True)),
        )  # fmt: skip
        return config

    async def signing_keys(self, ctx: RequestContext, project: str) -> list[dict[str, Any]]:
        db = self.kernel.tenancy.project_db(await self.kernel.placement_of(project))
        keys = await self.keys.keys(db, project, fresh=True)
        return [{**key.jwk(), "retired": key.retired} for key in keys]

    async def rotate_signing_key(
        self, ctx: RequestContext, project: str, alg: str
    ) -> list[dict[str, Any]]:
        db = self.kernel.tenancy.project_db(await self.kernel.placement_of(project))
        key = await self.keys.rotate(db, project, alg)
        await self.kernel.audit(
            ctx, "auth.signing_key_rotated", project, project_id=project, kid=key.kid, alg=alg
        )
        return await self.signing_keys(ctx, project)
