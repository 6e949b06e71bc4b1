"""Alembic migrations of apprun's own tables.

Two script directories: ``control`` (the control database) and ``project`` (every project's
database). Each module that owns tables adds its own branch (``branch_labels``) to the directory
it needs; ``upgrade heads`` applies every branch.
"""
