"""The explainer's text follows the terminal's width (``COLUMNS``, else the terminal): pin it to 80
columns here, so golden files and wrapped sentences do not depend on the terminal running pytest."""

import pytest


@pytest.fixture(autouse=True)
def eighty_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
