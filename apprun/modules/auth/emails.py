"""Email flows: confirmation, recovery, magic link, email change, invite (in progress)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.context import RequestContext
from apprun.modules.auth.kernel import AuthKernel


class EmailFlows:
    def __init__(self, kernel: AuthKernel) -> None:
        self.k = kernel

    async def send_signup_confirmation(
        self,
        ctx: RequestContext,
        conn: AsyncConnection,
        user: Any,
        redirect_to: str | None,
        pkce: tuple[str, str] | None,
    ) -> None:
        raise NotImplementedError

    async def start_email_change(
        self,
        ctx: RequestContext,
        conn: AsyncConnection,
        user: Any,
        new_email: str,
        redirect_to: str | None,
        pkce: tuple[str, str] | None,
    ) -> None:
        raise NotImplementedError
