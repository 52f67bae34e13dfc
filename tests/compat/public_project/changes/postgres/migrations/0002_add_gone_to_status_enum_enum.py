"""Auto-generated migration.

Created: 2026-12-06 00:39:16
"""

depends_on = "0001_create_status_enum_enum"


def upgrade(ctx):
    """Apply migration."""
    ctx.add_enum_value(
        "status_enum",
        "gone",
        fields=[
            {
                "table": "gen_item",
                "field": {
                    "name": "status",
                    "column_type": {
                        "kind": "enum",
                        "name": "status_enum",
                        "values": ["draft", "live", "gone"],
                    },
                    "db_type": None,
                    "nullable": False,
                    "primary_key": False,
                    "unique": False,
                    "default": "'draft'",
                    "auto_increment": False,
                    "max_length": None,
                    "max_digits": None,
                    "decimal_places": None,
                },
            }
        ],
    )
    ctx.add_column(
        "gen_item",
        {
            "name": "rating",
            "column_type": {"kind": "double"},
            "db_type": None,
            "nullable": True,
            "primary_key": False,
            "unique": False,
            "default": None,
            "auto_increment": False,
            "max_length": None,
            "max_digits": None,
            "decimal_places": None,
        },
    )
    ctx.drop_column("gen_shop", "opened")
    ctx.alter_column(
        "gen_shop", "note", column_type={"kind": "string", "length": 200}, max_length=200
    )
    ctx.alter_column("gen_shop", "owner", nullable=True, default="'someone'")
    ctx.create_index(
        "gen_item",
        {"name": "gen_item_rating_idx", "fields": ["rating"], "unique": False, "method": None},
    )
    ctx.add_check("gen_item", "gen_item_price_ck", "price > 0")


def downgrade(ctx):
    """Revert migration."""
    ctx.drop_check("gen_item", "gen_item_price_ck")
    ctx.drop_index("gen_item", "gen_item_rating_idx")
    ctx.add_column(
        "gen_shop",
        {
            "name": "opened",
            "column_type": {"kind": "time"},
            "db_type": None,
            "nullable": True,
            "primary_key": False,
            "unique": False,
            "default": None,
            "auto_increment": False,
            "max_length": None,
            "max_digits": None,
            "decimal_places": None,
        },
    )
    ctx.drop_column("gen_item", "rating")
    raise RuntimeError("Cannot automatically remove enum value gone from status_enum")
