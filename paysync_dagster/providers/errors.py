"""Errors a provider client raises; messages never contain credentials."""


class ProviderError(Exception):
    """A provider call failed for good."""


class ProviderAuthError(ProviderError):
    """The provider rejected the workspace's credentials: retrying cannot help."""


class ProviderUnavailableError(ProviderError):
    """The provider kept failing (429, 5xx, network) after every retry."""


class ProviderUnreachableError(ProviderUnavailableError):
    """The provider's API base never answered: a configuration to fix, not an outage to wait
    out (a stopped sandbox, a wrong `--api-base`)."""
