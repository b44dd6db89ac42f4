"""``hovor privacy``: the personal-data registry."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

import hovor.models
from hovor.cli.common import console
from hovor.core.personal_data import Category, iter_columns
from hovor.forms.service import FIELD_CATEGORY

privacy_app = typer.Typer(help="The personal-data registry and privacy operations.", no_args_is_help=True)


@privacy_app.command("schema")
def privacy_schema(
    personal_only: Annotated[
        bool, typer.Option("--personal", help="Only columns holding personal data.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """Print what every column holds, whose data it is and what erasure does to it."""
    table = Table(
        "table", "column", "category", "whose", "erasure", "why kept", title="Personal-data registry"
    )
    for table_name, column, cls in iter_columns(hovor.models.Base.metadata):
        if cls is None:
            row = [table_name, column.name, "UNCLASSIFIED", "", "", ""]
        else:
            if personal_only and cls.category is Category.OPERATIONAL:
                continue
            row = [
                table_name,
                column.name,
                cls.category.value,
                cls.owner.value,
                cls.erasure.value,
                cls.reason or "",
            ]
        if as_json:
            keys = ("table", "column", "category", "owner", "erasure", "reason")
            console.print_json(json.dumps(dict(zip(keys, row, strict=True))))
        else:
            table.add_row(*row)
    if not as_json:
        console.print(table)
        custom = Table("custom-field type", "category", title="Custom fields declare their data by type")
        for kind, category in FIELD_CATEGORY.items():
            custom.add_row(kind, category.value)
        console.print(custom)
