"""Structured logs: JSON lines (or a readable console format) through structlog."""

from __future__ import annotations

import logging
import sys

import structlog

from apprun.config import LogSettings


def configure_logging(settings: LogSettings, dev: bool) -> None:
    """Route stdlib and structlog records through one renderer at the configured level."""
    json_format = settings.json_format if settings.json_format is not None else not dev
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json_format
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level.upper())
    # Migration chatter only when debugging.
    logging.getLogger("alembic").setLevel(
        logging.DEBUG if settings.level == "debug" else logging.WARNING
    )
