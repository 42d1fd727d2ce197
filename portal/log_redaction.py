"""Keeps customer-link tokens and pre-shared keys out of every log line.

`portal.settings.LOGGING` puts `RedactSecrets` on every handler. It is the second line of
defence: the first is that the libraries which would log secrets (botocore logs request
parameters and response bodies at DEBUG, and those carry pre-shared keys) are capped
below DEBUG there. Whatever still reaches a handler is rewritten here:

- a customer link's token, wherever a path shows it (`/intake/<token>/`: access logs,
  `django.request` warnings), and any bare word shaped like a token;
- a pre-shared key in the shapes AWS and botocore print it: request parameters
  (`'TunnelOptions.1.PreSharedKey': '...'`, `PreSharedKey=...`), response elements
  (`<preSharedKey>...</preSharedKey>`) and the device configuration AWS returns inside
  a response, escaped or not (`<pre_shared_key>...</pre_shared_key>`).
"""

import logging
import re

REDACTED = "[redacted]"

# The customer's pages live under /intake/<token>/; whatever follows the prefix is
# hidden, well-formed or not (a near miss of a real token is nearly as secret).
_TOKEN_IN_PATH = re.compile(r"(/intake/)[^/\s?#\"'<>]+")
# A bare token: 43 URL-safe base64 characters (vpn.services.intake.TOKEN_SHAPE) standing
# alone, not inside a longer run such as a Fernet ciphertext.
_BARE_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_=-])")
_PSK_NAME = r"pre_?shared_?key"
# `PreSharedKey': 'value'`, `"PreSharedKey": "value"`, `PreSharedKey=value&...`.
_PSK_PARAMETER = re.compile(rf"({_PSK_NAME}['\"]?\s*[:=]\s*b?['\"]?)[^\s'\"&<,;}}\]]+", re.I)
# `<preSharedKey>value</...>` and `&lt;pre_shared_key&gt;value&lt;/...`.
_PSK_ELEMENT = re.compile(rf"((?:<|&lt;){_PSK_NAME}(?:>|&gt;))[^<&]+", re.I)


def redact(text: str) -> str:
    """`text` with every customer-link token and pre-shared key it shows replaced."""
    text = _TOKEN_IN_PATH.sub(rf"\g<1>{REDACTED}", text)
    text = _PSK_PARAMETER.sub(rf"\g<1>{REDACTED}", text)
    text = _PSK_ELEMENT.sub(rf"\g<1>{REDACTED}", text)
    return _BARE_TOKEN.sub(REDACTED, text)


class RedactSecrets(logging.Filter):
    """A handler filter that rewrites a record's message, traceback and stack in place.

    The message is formatted here (`msg % args`) so that a secret passed as an argument
    is caught too; the record then carries the redacted text and no arguments.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record; never drops it."""
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
