"""Removing an enum value, raw SQL and a manual step."""

from oxyde.migrations import MigrationContext

depends_on = "0002_changes"


def upgrade(ctx: MigrationContext) -> None:
    ctx.execute("UPDATE mg_post SET state = 'draft' WHERE state = 'review'")
    ctx.alter_enum_type("mg_state_enum", ["draft", "published", "archived"])


def downgrade(ctx: MigrationContext) -> None:
    ctx.alter_enum_type("mg_state_enum", ["draft", "review", "published", "archived"])
    ctx.require_manual("restore the posts that were in review")
