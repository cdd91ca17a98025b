from __future__ import annotations

import pytest

from medanon import Keyring, Scrubber, load_policy

TEST_KEY = b"medanon-test-key-0123456789abcdef"


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(TEST_KEY)


@pytest.fixture(autouse=True)
def _isolated_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test reads or creates the user's real key."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    monkeypatch.setenv("MEDANON_KEY", TEST_KEY.decode())


@pytest.fixture
def scrubber(keyring: Keyring) -> Scrubber:
    return Scrubber(load_policy("basic"), keyring)


@pytest.fixture
def research(keyring: Keyring) -> Scrubber:
    return Scrubber(load_policy("research"), keyring)
