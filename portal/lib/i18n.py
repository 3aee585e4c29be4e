"""English and Bahasa Indonesia through gettext catalogs; the request's language lives in a contextvar."""

from __future__ import annotations

from contextvars import ContextVar
from functools import lru_cache
from gettext import NullTranslations

from babel.support import Translations

from portal.settings import get_settings

LANGUAGES: list[tuple[str, str]] = [("en", "English"), ("id", "Bahasa Indonesia")]
LANGUAGE_CODES = {code for code, _ in LANGUAGES}
BABEL_LOCALES = {"en": "en", "id": "id_ID"}
LANGUAGE_COOKIE = "neraca_lang"

current_language: ContextVar[str] = ContextVar("current_language", default="en")


@lru_cache(maxsize=8)
def translations(language: str) -> NullTranslations:
    if language == "en":
        return NullTranslations()
    return Translations.load(str(get_settings().locale_dir), [language], domain="messages")


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


def gettext(message: str) -> str:
    return translations(current_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """`message` as meant in `context` (e.g. "To" of a transfer, of a date range, of an e-mail)."""
    return translations(current_language.get()).pgettext(context, message)


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return translations(current_language.get()).npgettext(context, singular, plural, n)


def babel_locale() -> str:
    return BABEL_LOCALES.get(current_language.get(), "en")


def negotiate(cookie: str | None, accept_language: str | None, user_language: str | None = None) -> str:
    """User setting first, then the language cookie, then Accept-Language, then the default."""
    for candidate in (user_language, cookie):
        if candidate in LANGUAGE_CODES:
            return candidate
    if accept_language:
        weighted: list[tuple[float, str]] = []
        for part in accept_language.split(","):
            pieces = part.strip().split(";q=")
            tag = pieces[0].strip().lower().split("-")[0]
            try:
                quality = float(pieces[1]) if len(pieces) > 1 else 1.0
            except ValueError:
                quality = 0.0
            if tag in LANGUAGE_CODES:
                weighted.append((quality, tag))
        if weighted:
            return max(weighted)[1]
    default = get_settings().default_language
    return default if default in LANGUAGE_CODES else "en"
