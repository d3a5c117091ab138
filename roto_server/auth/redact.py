"""Secrets never reach the log: a logging filter that blanks credentials in every URL of a record.

URLs carry the C2 API's ``?token=``/``?password=`` and sometimes ``user:password@`` userinfo;
Sanic logs the full URL of a request whose handler failed, and any log line may quote one.
"""

from __future__ import annotations

import logging
import re

BLANK = "***"
_QUERY_SECRET = re.compile(r"(?i)([?&;](?:token|password|access_token)=)[^&#\s'\"]*")
_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/@\s:'\"]*:)[^@/\s'\"]*@")
# the loggers whose records roto and Sanic write; handlers on the root logger see the rest
LOGGERS = ("roto", "sanic.root", "sanic.error", "sanic.access", "sanic.server", "sanic.websockets")


def scrub(text: str) -> str:
    return _USERINFO.sub(rf"\g<1>{BLANK}@", _QUERY_SECRET.sub(rf"\g<1>{BLANK}", text))


class SecretFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call; logging reports it itself when the record is formatted
            return True
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:  # exception messages may quote a URL too
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


def install() -> None:
    """Attach the filter where every record passes: roto's and Sanic's loggers, and the root handlers."""
    secret_filter = SecretFilter()
    targets: list[logging.Filterer] = [logging.getLogger(name) for name in LOGGERS]
    targets += logging.getLogger().handlers
    for target in targets:
        if not any(isinstance(f, SecretFilter) for f in target.filters):
            target.addFilter(secret_filter)
