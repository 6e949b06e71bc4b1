"""ASGI glue: middleware, the request pipeline, error rendering, health and metrics."""
