"""Column, index, key, check and enum changes."""

from oxyde.migrations import MigrationContext

depends_on = "0001_initial"


def upgrade(ctx: MigrationContext) -> None:
    ctx.add_enum_value("mg_state_enum", "archived")
    ctx.add_enum_value("mg_state_enum", "review", before="published")
    ctx.add_column("mg_post", {"name": "views", "kind": "int", "default": 0})
    ctx.alter_column("mg_post", "title", max_length=300, nullable=True)
    ctx.alter_column("mg_author", "name", unique=False)
    ctx.alter_column("mg_post", "pinned", kind="int", default=None)
    ctx.rename_column("mg_post", "published", "published_on")
    ctx.drop_column("mg_author", "bio")
    ctx.create_index(
        "mg_post", {"name": "mg_post_views_idx", "columns": ["views"], "method": "hash"}
    )
    ctx.add_unique("mg_post", "mg_post_state_views_uniq", ["state", "views"])
    ctx.add_check("mg_post", "mg_post_views_pos", "views >= 0")
    ctx.drop_foreign_key("mg_post", "fk_mg_post_author_id")
    ctx.add_foreign_key(
        "mg_post", "fk_mg_post_author", "author_id", "mg_author", "id", on_delete="CASCADE"
    )
    ctx.rename_table("mg_author", "mg_writer")


def downgrade(ctx: MigrationContext) -> None:
    ctx.rename_table("mg_writer", "mg_author")
    ctx.drop_foreign_key("mg_post", "fk_mg_post_author")
    ctx.add_foreign_key(
        "mg_post",
        "fk_mg_post_author_id",
        "author_id",
        "mg_author",
        "id",
        on_delete="SET NULL",
        on_update="CASCADE",
    )
    ctx.drop_check("mg_post", "mg_post_views_pos")
    ctx.drop_unique("mg_post", "mg_post_state_views_uniq")
    ctx.drop_index("mg_post", "mg_post_views_idx")
    ctx.add_column("mg_author", {"name": "bio", "kind": "str", "max_length": 500, "nullable": True})
    ctx.rename_column("mg_post", "published_on", "published")
    ctx.alter_column("mg_post", "pinned", kind="bool", default=False)
    ctx.alter_column("mg_author", "name", unique=True)
    ctx.alter_column("mg_post", "title", max_length=200, nullable=False)
    ctx.drop_column("mg_post", "views")
    ctx.alter_enum_type("mg_state_enum", ["draft", "published"])
