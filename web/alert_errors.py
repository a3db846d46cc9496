"""The alerting engine's errors in the console user's language.

``alerts`` raises ``AlertError`` with an English template and its fields; the template
is the catalogue key (extracted from ``alerts/`` with the keyword ``AlertError``), so the
console fills the translated template with the same fields.
"""

from __future__ import annotations

from flask_babel import gettext

from alerts.errors import AlertError
from monitor.errors import ClusterWatchError


def alert_error_text(error: AlertError | ClusterWatchError) -> str:
    """``error`` as a sentence in the current locale (English when not translated).

    Errors of ``monitor`` that carry a template (``SourceError``) read the same way.
    """
    return gettext(error.message, **error.params)
