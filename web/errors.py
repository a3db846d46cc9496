"""Translated error pages for 400, 403, 404 and 500."""

from __future__ import annotations

from flask import Flask, render_template
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: (_l("Bad request"), _l("The request was not understood; check the form or filters.")),
    403: (_l("Not allowed"), _l("Your role does not allow this action.")),
    404: (_l("Not found"), _l("There is no such page, alert or threshold.")),
    500: (_l("Server error"), _l("Something went wrong on our side. The error has been logged.")),
}


def _page(code: int) -> ResponseReturnValue:
    title, message = MESSAGES[code]
    return render_template("errors/error.html", code=code, title=title, message=message), code


def _http_error(error: HTTPException) -> ResponseReturnValue:
    return _page(error.code or 500)


def _server_error(_error: Exception) -> ResponseReturnValue:
    # Flask has logged the exception with its traceback before calling this handler.
    return _page(500)


def init_app(app: Flask) -> None:
    for code in (400, 403, 404):
        app.register_error_handler(code, _http_error)
    app.register_error_handler(500, _server_error)
