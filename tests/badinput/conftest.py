from __future__ import annotations

from pathlib import Path

import pytest

from tests.badinput.corpus import make_corpus


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory) -> dict[str, Path]:
    """The corpus of bad files (and one good clip), made once per test session."""
    return make_corpus(tmp_path_factory.mktemp("bad-input"))
