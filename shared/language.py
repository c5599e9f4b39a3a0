"""The API's two languages: Bahasa Indonesia first, English when a client asks for it.

A refusal is written once, in both languages (``say("<kalimat>", "<sentence>")``), and the
answer picks one by the request's ``Accept-Language`` (RFC 9110, parsed by Werkzeug):
``en`` (or ``en-US``, ...) preferred over ``id`` gives English, anything else Bahasa
Indonesia. Machine-readable parts of an answer (status, ``type``, ``errors[].loc``) never
change with the language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

LANGS = ("id", "en")
DEFAULT_LANG = "id"


class Text(NamedTuple):
    """One message in Bahasa Indonesia and in English."""

    id: str
    en: str

    def pick(self, lang: str) -> str:
        return self.en if lang == "en" else self.id


def say(indonesian: str, english: str) -> Text:
    return Text(indonesian, english)


class Invalid(ValueError):
    """A validator's refusal in both languages. Pydantic reports it as a ``value_error``
    whose message is the English; the API and the importers read the Indonesian from it."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text


def in_both(text: str | Text) -> Text:
    """``text`` as a Text; a plain string (a value, a name) reads the same in both."""
    return text if isinstance(text, Text) else Text(text, text)


def negotiate(accept_language: str | None) -> str:
    """The language to answer in, from an ``Accept-Language`` header (or None)."""
    if not accept_language:
        return DEFAULT_LANG
    accepted = parse_accept_header(accept_language, LanguageAccept)
    return accepted.best_match(LANGS, default=DEFAULT_LANG) or DEFAULT_LANG


def configured_lang() -> str:
    """LUMBUNG_LANG: the language of the command line (its help, usage errors, and the API's
    refusals it reports)."""
    from pydantic import ValidationError

    from shared.settings import Settings

    try:
        return Settings().lang
    except ValidationError:  # the command itself reports bad settings; its help still works
        return DEFAULT_LANG


def lang_of_scope(scope: Mapping[str, Any]) -> str:
    """``negotiate`` for an ASGI scope (middlewares that answer before the app)."""
    for name, value in scope.get("headers") or ():
        if name == b"accept-language":
            return negotiate(value.decode("latin-1"))
    return DEFAULT_LANG
