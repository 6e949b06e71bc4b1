"""``create_app(settings)``: the one composition root of apprun."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aio_pika
from fastapi import Depends, FastAPI
from starlette.middleware.cors import CORSMiddleware

from apprun import __version__
from apprun.config import Settings
from apprun.core.actions import Actions
from apprun.core.cache import MemoryCache, RedisCache
from apprun.core.clock import Clock, SystemClock
from apprun.core.context import RequestContext
from apprun.core.db import EngineOptions
from apprun.core.hooks import Hooks
from apprun.core.ratelimit import (
    LocalRateLimiter,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
)
from apprun.core.tenancy import Tenancy
from apprun.http.errors import install_error_handlers
from apprun.http.health import Check, build_health_router
from apprun.http.logging import configure_logging
from apprun.http.metrics import Metrics
from apprun.http.middleware import (
    BodyLimitMiddleware,
    ObservabilityMiddleware,
    ProjectPathMiddleware,
)
from apprun.http.openapi import build_openapi_router
from apprun.http.pipeline import PipelineMiddleware, enforce_pipeline
from apprun.modules import platform
from apprun.modules.auth import AuthService
from apprun.modules.data import DataService
from apprun.modules.platform import hooks as platform_hooks
from apprun.modules.storage import Limits, StorageService, open_stores
from apprun.modules.web import JsonResponse

log = logging.getLogger("apprun.app")

CORS_ALLOW_HEADERS = [
    "authorization",
    "content-type",
    "apikey",
    "x-client-info",
    "x-supabase-api-version",
    "x-apprun-project",
    "x-request-id",
    "prefer",
    "range",
    "accept-profile",
    "content-profile",
    "x-upsert",
    "accept-language",
    "if-none-match",
    "if-modified-since",
    "x-metadata",
    "cache-control",
    "tus-resumable",
    "upload-length",
    "upload-offset",
    "upload-metadata",
    "upload-defer-length",
    "upload-checksum",
    "upload-concat",
    "x-signature",
    "x-http-method-override",
]
CORS_EXPOSE_HEADERS = [
    "x-request-id",
    "content-range",
    "x-total-count",
    "link",  # GoTrue's admin user list: supabase-js reads its pages from it
    "x-supabase-api-version",
    "retry-after",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "etag",
    "location",
    "content-disposition",
    "content-length",
    "upload-offset",
    "upload-length",
    "upload-metadata",
    "upload-expires",
    "tus-resumable",
    "tus-version",
    "tus-extension",
    "tus-max-size",
    "tus-checksum-algorithm",
    "tus-complete",
]


@dataclass
class Services:
    """Everything the app composed; tests and the CLI reach the services through this."""

    settings: Settings
    tenancy: Tenancy
    hooks: Hooks
    actions: Actions
    clock: Clock
    limiter: RateLimiter
    metrics: Metrics
    platform: platform.PlatformService
    data: DataService
    auth: AuthService
    storage: StorageService


def build_services(settings: Settings, clock: Clock | None = None) -> Services:
    """Compose the services without the web layer (used by the app and the CLI)."""
    settings = settings.with_dev_secret()
    settings.check_secrets()
    metrics = Metrics()
    tenancy = Tenancy(
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        clusters=settings.clusters,
        options=EngineOptions(
            sqlite_busy_timeout_ms=settings.db.sqlite_busy_timeout_ms,
            sqlite_readers=settings.db.sqlite_readers,
            sqlite_synchronous=settings.db.sqlite_synchronous,
            pg_pool_size=settings.db.pg_pool_size,
            pg_max_overflow=settings.db.pg_max_overflow,
            echo=settings.db.echo,
        ),
        control_schema=settings.db.control_schema,
        pool_listener=metrics.pool_listener,
    )
    clock = clock or SystemClock()
    hooks, actions = Hooks(), Actions()
    limiter = build_limiter(settings)
    service = platform.PlatformService(
        tenancy,
        hooks,
        clock,
        limiter,
        secret_key=settings.secret_key.get_secret_value(),
        admin_token_ttl=settings.admin.token_ttl_seconds,
        login_per_minute=settings.rate_limit.login_per_minute,
    )
    platform.register_actions(actions, service)
    data = DataService(
        tenancy,
        hooks,
        clock,
        service.placement,
        service.audit.record,
        max_rows=settings.data.max_rows,
    )
    data.register_actions(actions)

    async def site_settings(ctx: RequestContext) -> tuple[str | None, int]:
        project_settings = await service.projects.get_settings(ctx)
        return project_settings.site_url, project_settings.jwt_expiry_seconds

    auth = AuthService(
        tenancy,
        hooks,
        clock,
        service.placement,
        service.audit.record,
        data.roles_of_user,
        site_settings,
        secret_key=settings.secret_key.get_secret_value(),
        public_url=settings.effective_public_url,
        dev=settings.dev,
        session_cache=RedisCache(settings.redis_url, "apprun:auth:")
        if settings.redis_url
        else MemoryCache(),
        limiter=limiter,
        assign_roles=data.assign_user_roles,
    )
    storage_settings = settings.storage
    s3_secret = storage_settings.s3_secret_access_key
    storage = StorageService(
        tenancy,
        hooks,
        clock,
        service.placement,
        service.audit.record,
        data.caller_roles,
        data.grant_permissions,
        data.revoke_permissions,
        blobs=open_stores(
            settings.storage_url,
            str(settings.data_dir),
            storage_settings.s3_access_key_id,
            s3_secret.get_secret_value() if s3_secret else None,
        ),
        limits=Limits(
            file_size_limit=storage_settings.file_size_limit,
            max_versions=storage_settings.max_versions,
            upload_expiry_seconds=storage_settings.upload_expiry_seconds,
            sweep_grace_seconds=storage_settings.sweep_grace_seconds,
            image_max_dimension=storage_settings.image_max_dimension,
            image_max_source_pixels=storage_settings.image_max_source_pixels,
        ),
        secret_key=settings.secret_key.get_secret_value(),
    )
    hooks.subscribe(
        platform_hooks.PROJECT_DELETED,
        lambda hook: storage.drop_project(hook.payload.project),
    )
    return Services(
        settings, tenancy, hooks, actions, clock, limiter, metrics, service, data, auth, storage
    )


def build_limiter(settings: Settings) -> RateLimiter:
    backend = settings.rate_limit.backend
    if backend == "auto":
        if settings.redis_url:
            backend = "redis"
        elif settings.server.effective_workers(settings.dev) > 1:
            backend = "local"
        else:
            backend = "memory"
    if backend == "redis":
        if not settings.redis_url:
            raise ValueError("rate_limit.backend = redis needs APPRUN_REDIS_URL")
        return RedisRateLimiter(settings.redis_url)
    if backend == "local":
        return LocalRateLimiter(settings.data_dir / "ratelimit.db")
    return MemoryRateLimiter()


def readiness_checks(services: Services) -> dict[str, Check]:
    settings = services.settings
    checks: dict[str, Check] = {"database": services.tenancy.control.ping}

    async def clusters() -> None:
        failing = {k: v for k, v in (await services.tenancy.ping_clusters()).items() if v}
        if failing:
            raise ConnectionError(", ".join(sorted(failing)))

    checks["clusters"] = clusters
    if isinstance(services.limiter, RedisRateLimiter):
        checks["redis"] = services.limiter.ping
    if settings.broker_url:
        broker_url = settings.broker_url

        async def broker() -> None:
            connection = await aio_pika.connect(broker_url, timeout=2)
            await connection.close()

        checks["broker"] = broker
    return checks


async def sweep_storage(services: Services) -> None:
    """Every ``storage.sweep_interval_seconds``, remove each project's unreferenced bytes."""
    interval = services.settings.storage.sweep_interval_seconds
    if not interval:
        return
    while True:
        await asyncio.sleep(interval)
        for project in await services.platform.projects.list_projects():
            try:
                await services.storage.sweep(RequestContext.system(project.id))
            except Exception:
                log.exception("storage sweep failed", extra={"project": project.id})


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """The ASGI application with every module mounted."""
    services = build_services(settings, clock)
    settings = services.settings

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if settings.db.migrate_on_start:
            await services.platform.migrate()
            admin_password = settings.admin_password
            await services.platform.bootstrap(
                settings.admin_email,
                admin_password.get_secret_value() if admin_password else None,
            )
        sweeping = asyncio.create_task(sweep_storage(services))
        yield
        sweeping.cancel()
        await services.limiter.close()
        await services.auth.session_cache.close()
        await services.storage.close()
        await services.tenancy.dispose()
        Metrics.worker_exited(os.getpid())

    app = FastAPI(
        title="apprun",
        version=__version__,
        summary="Backend-as-a-Service: auth, data, storage, functions, workflows, events, i18n.",
        lifespan=lifespan,
        default_response_class=JsonResponse,
        redoc_url=None,
        openapi_url=None,  # served by build_openapi_router, with the project's collections
        dependencies=[Depends(enforce_pipeline)],
    )
    app.state.services = services
    install_error_handlers(app)
    app.include_router(build_health_router(readiness_checks(services), services.metrics))
    app.include_router(platform.build_router(services.platform, services.actions))
    routers = [*services.auth.routers(), *services.data.routers(), *services.storage.routers()]
    for router in routers:
        app.include_router(router)
    app.include_router(
        build_openapi_router(
            app.openapi, lambda ctx: services.data.rows.openapi(ctx, embedded=True)
        )
    )

    # Added innermost first: ProjectPath → Observability → CORS → BodyLimit → Pipeline → routes.
    app.add_middleware(
        PipelineMiddleware,
        platform=services.platform,
        limiter=services.limiter,
        limits=settings.rate_limit,
        trust_forwarded_for=settings.http.trust_forwarded_for,
        authenticate=services.auth.authenticate,
    )
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.http.max_body_bytes,
        streamed_prefixes=("/storage/v1/",),  # uploads stream; storage enforces its limits
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.http.cors_origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
        allow_headers=CORS_ALLOW_HEADERS,
        expose_headers=CORS_EXPOSE_HEADERS,
        max_age=600,
    )
    app.add_middleware(
        ObservabilityMiddleware,
        metrics=services.metrics,
        log_requests=settings.http.access_log,
    )
    app.add_middleware(ProjectPathMiddleware)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for uvicorn's worker processes: settings from the environment."""
    settings = Settings()
    configure_logging(settings.log, settings.dev)
    return create_app(settings)
