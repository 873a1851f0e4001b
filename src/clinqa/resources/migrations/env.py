"""alembic's environment for clinqa's databases: revisions run on the connection that `clinqa.data.migrate.upgrade`
hands over, inside its lock and its transaction (which it commits); there is no alembic.ini and no URL here."""

from alembic import context

context.configure(connection=context.config.attributes["connection"])
with context.begin_transaction():
    context.run_migrations()
