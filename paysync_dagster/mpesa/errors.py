"""Errors of the M-Pesa engine; messages name the bad input, never a secret."""

from __future__ import annotations

from collections.abc import Mapping


class MpesaError(ValueError):
    """An M-Pesa operation was refused (unknown bar, duplicate token name, ...)."""


class SettingsValidationError(MpesaError):
    """A settings request is invalid; `errors` maps each bad field to what is wrong with it."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        details = "; ".join(f"{name}: {problem}" for name, problem in self.errors.items())
        super().__init__(f"invalid M-Pesa settings: {details}")
