"""Logging in and out, and choosing the console language."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user, login_user, logout_user

from monitor.users import authenticate, set_locale
from web.access import ConsoleUser, safe_next
from web.forms import LanguageForm, LoginForm, LogoutForm
from web.i18n import LOCALE_COOKIE, SESSION_KEY
from web.storage import db

bp = Blueprint("auth", __name__)

LOCALE_COOKIE_SECONDS = 365 * 24 * 3600


def _home() -> str:
    return url_for("home")


@bp.route("/login", methods=("GET", "POST"))
def login() -> ResponseReturnValue:
    form = LoginForm(next=request.args.get("next", ""))
    if current_user.is_authenticated:
        return redirect(safe_next(form.next.data) or _home())
    if form.validate_on_submit():
        user = authenticate(db(), form.username.data or "", form.password.data or "")
        if user is None:
            flash(gettext("Wrong user name or password."), "error")
        else:
            login_user(ConsoleUser.from_record(user))
            session.permanent = True
            if user.locale:
                session[SESSION_KEY] = user.locale
            flash(gettext("Welcome, %(name)s.", name=user.username), "success")
            return redirect(safe_next(form.next.data) or _home())
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    if LogoutForm().validate_on_submit():
        logout_user()
        flash(gettext("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
def language() -> ResponseReturnValue:
    form = LanguageForm()
    target = safe_next(form.next.data) or _home()
    if not form.validate_on_submit():
        return redirect(target)
    locale = form.locale.data
    session[SESSION_KEY] = locale
    if current_user.is_authenticated:
        set_locale(db(), current_user.id, locale)
        db().commit()
    response = redirect(target)
    response.set_cookie(
        LOCALE_COOKIE, locale, max_age=LOCALE_COOKIE_SECONDS, httponly=True, samesite="Lax"
    )
    return response
