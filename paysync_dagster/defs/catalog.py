"""Catalog metadata for table-backed assets, derived from the table definitions themselves.

`dagster/table_name` and `dagster/column_schema` are definition metadata (the catalog shows
them before anything ran); `dagster/row_count` is per materialization, from the live rows.
"""

import dagster as dg
import sqlalchemy as sa


def column_schema(table: sa.Table) -> dg.TableSchema:
    """The table's columns as Dagster shows them: name, SQL type, nullability, uniqueness."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=column.name,
                type=str(column.type),
                constraints=dg.TableColumnConstraints(
                    nullable=bool(column.nullable), unique=bool(column.primary_key)
                ),
            )
            for column in table.columns
        ]
    )


def table_metadata(table: sa.Table) -> dict[str, str | dg.MetadataValue]:
    """Definition metadata naming `table` and describing its columns."""
    return {
        "dagster/table_name": table.name,
        "dagster/column_schema": dg.MetadataValue.table_schema(column_schema(table)),
    }


def row_count(live_rows: int) -> dict[str, dg.MetadataValue]:
    """Materialization metadata carrying the partition's live row count."""
    return {"dagster/row_count": dg.MetadataValue.int(live_rows)}
