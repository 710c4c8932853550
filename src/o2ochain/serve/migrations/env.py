"""Alembic's environment for the EPCIS event index: runs on the connection the repository hands
it (``config.attributes["connection"]``), inside the repository's own transaction, so that
opening a repository upgrades its schema in one step and never reads an ``alembic.ini``."""

from __future__ import annotations

from alembic import context

VERSION_TABLE = "o2ochain_epcis_version"
"""Alembic's bookkeeping table, named for this index so that it can share a database with others."""

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("the EPCIS index migrations run through EventRepository.open(), which passes them a connection")
context.configure(connection=connection, version_table=VERSION_TABLE, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
