"""The CLI tests read what the commands print: at a known width, whatever terminal (or pytest-xdist worker, which
sets COLUMNS=80) runs them.  A test about widths sets its own."""

import pytest


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
