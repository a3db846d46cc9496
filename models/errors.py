"""Errors of the scoring models package."""


class ModelError(Exception):
    """Base class of every error raised by ``models``."""


class InvalidParameter(ModelError, ValueError):
    """A model parameter (a constructor argument, a cut-off, a stage rule) is not valid."""


class NotFittedError(ModelError):
    """A detector was asked to score before it was fitted."""


class InvalidInput(ModelError, ValueError):
    """A panel handed to a model is not a valid periods x entities frame."""
