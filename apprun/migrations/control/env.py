from apprun.migrations.runtime import run_migrations

run_migrations()
