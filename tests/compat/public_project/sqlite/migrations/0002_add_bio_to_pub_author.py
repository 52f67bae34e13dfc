"""Auto-generated migration.

Created: 2026-12-06 00:19:57
"""

depends_on = "0001_create_pub_author_table"


def upgrade(ctx):
    """Apply migration."""
    ctx.add_column(
        "pub_author",
        {
            "name": "bio",
            "column_type": {"kind": "string", "length": 500},
            "db_type": None,
            "nullable": True,
            "primary_key": False,
            "unique": False,
            "default": None,
            "auto_increment": False,
            "max_length": 500,
            "max_digits": None,
            "decimal_places": None,
        },
    )


def downgrade(ctx):
    """Revert migration."""
    ctx.drop_column("pub_author", "bio")
