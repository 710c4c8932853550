"""Fixtures of the security tests: the contract tests' session chain (tests/contracts/conftest.py),
reused as is, with every deployable on it."""

from __future__ import annotations

from tests.contracts.conftest import _consent_session, _session_env, _trace_session, env  # noqa: F401
