"""The console's message catalogues: found by territory, looked up once per request."""

from __future__ import annotations

from babel import Locale, support
from flask import g, has_request_context
from flask_babel import Babel, Domain, get_locale, get_translations
from werkzeug.utils import cached_property

REQUEST_KEY = "console_translations"
BABEL_CONTEXT = "_flask_babel"  # where Flask-Babel keeps the request's locale


class TerritoryDomain(Domain):
    """Finds a catalogue filed as ``zh_CN`` although Babel names that locale ``zh_Hans_CN``.

    Babel adds the likely script to Chinese locales, so the stock lookup searches
    ``zh_Hans_CN`` and ``zh`` and never the conventional ``zh_CN`` folder.
    """

    def get_translations(self) -> support.NullTranslations:
        locale = get_locale()
        if locale is None:
            return support.NullTranslations()
        known = g.get(REQUEST_KEY) if has_request_context() else None
        if known is not None and known[0] is locale:
            return known[1]
        translations = self._translations_for(locale)
        if has_request_context():
            setattr(g, REQUEST_KEY, (locale, translations))
        return translations

    def _translations_for(self, locale: Locale) -> support.NullTranslations:
        names = catalogue_names(locale)
        key = (tuple(names), self.domain[0])
        if key not in self.cache:
            translations = support.Translations()
            for directory in self.translation_directories:
                catalogue = support.Translations.load(directory, names, self.domain[0])
                translations.merge(catalogue)
                if hasattr(catalogue, "plural"):
                    translations.plural = catalogue.plural
            self.cache[key] = translations
        return self.cache[key]


class ConsoleBabel(Babel):
    @cached_property
    def domain_instance(self) -> Domain:
        return TerritoryDomain(domain=self.domain)


def catalogue_names(locale: Locale) -> list[str]:
    """Folder names to try for ``locale``, most specific first: zh_CN, zh_Hans_CN, zh."""
    names = [f"{locale.language}_{locale.territory}"] if locale.territory else []
    names += [str(locale), locale.language]
    return list(dict.fromkeys(names))


def request_translations() -> support.NullTranslations:
    """This request's catalogue. A page asks hundreds of times, so after the first answer it
    is two lookups in ``g`` instead of Flask-Babel's walk through its context, the locale
    selector and the domain. The answer is kept with the locale it was found for and used
    only while Flask-Babel's context still holds that locale (``force_locale`` changes it);
    should Flask-Babel keep its locale elsewhere one day, every call takes the long way."""
    if has_request_context():
        known = g.get(REQUEST_KEY)
        babel_context = g.get(BABEL_CONTEXT)
        if known is not None and known[0] is getattr(babel_context, "babel_locale", None):
            return known[1]
    return get_translations()


def translate(message: str) -> str:
    """``message`` in this request's language (what ``_()`` does in templates)."""
    return request_translations().ugettext(message)


def translate_plural(singular: str, plural: str, number: int) -> str:
    """The singular or plural form for ``number`` in this request's language."""
    return request_translations().ungettext(singular, plural, number)
