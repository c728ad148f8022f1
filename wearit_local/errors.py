"""One exception hierarchy for the local environment, apart from the SDK's ``StorageError``.

The local environment is a developer tool: its failures (a missing ``cdk.out``, a template
it cannot provision, a moto server that does not start) say what to run or change, and
never reach code that handles the SDK's own errors.
"""

from __future__ import annotations


class LocalEnvironmentError(Exception):
    """Base class of every error raised by ``wearit_local``."""


class LocalSetupError(LocalEnvironmentError):
    """The local environment cannot be built (e.g. no synthesized templates)."""


class MotoServerError(LocalEnvironmentError):
    """The moto server did not start, did not answer, or refused a control request."""


class TemplateError(LocalEnvironmentError):
    """The cloud assembly or a template cannot be read as the local environment needs."""


class UnsupportedPropertyError(TemplateError):
    """A declared property (or a key inside one) has no mapping to the emulator's API."""


class UnsupportedIntrinsicError(TemplateError):
    """The template uses an intrinsic function the local environment does not resolve."""


class UnresolvableReferenceError(TemplateError):
    """A reference points at something without a known physical id or attribute."""
