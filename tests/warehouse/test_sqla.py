"""The SQLAlchemy engine reads the same warehouse, with DECIMAL money intact."""

from decimal import Decimal

import sqlalchemy as sa

from warehouse.db import connect
from warehouse.sqla import engine, read_frame, table_names


def test_engine_reads_migrated_schema(tmp_path):
    path = tmp_path / "w.duckdb"
    con = connect(path)
    con.execute("INSERT INTO fx_rates VALUES ('2026-10-30', 'GBP', 0.8712, 'ecb')")
    con.close()
    eng = engine(str(path), read_only=True)
    assert {"billing_line_items", "price_history", "schema_migrations"} <= set(table_names(eng))
    with eng.connect() as c:
        rate = c.execute(sa.text("SELECT rate FROM fx_rates WHERE currency = :c"), {"c": "GBP"}).scalar_one()
    assert rate == Decimal("0.87120000")
    df = read_frame(eng, "SELECT currency, rate FROM fx_rates WHERE rate > :r", {"r": 0.5})
    assert list(df.currency) == ["GBP"] and df.rate[0] == Decimal("0.87120000")
    eng.dispose()
