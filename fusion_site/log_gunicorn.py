"""gunicorn's logger with the site's masking (webhooks.masking) on its access lines and its error log.

gunicorn writes its access log itself, outside Python logging's filters, and its error log names request
URIs ("Error handling request /?access_key=..."): both pass here through the same masking as every other
log line. Access atoms are masked as the format uses them (the request line, path, query string, every
header such as User-Agent and Referer), so an unused atom costs nothing. Set by gunicorn.conf.py.
"""

import logging
from typing import Any

from django.conf import settings
from gunicorn.glogging import Logger, SafeAtoms

from webhooks.masking import MASK, mask_query_string, mask_text


def _masked(text: str) -> str:
    """mask_text once Django's settings are loaded (a worker serving requests); before that (the master
    process starting up) the secrets' values are unknown and secret-named parameters are masked."""
    try:
        return mask_text(text) if settings.configured else mask_query_string(text)
    except Exception:  # never let a log line through unmasked because masking failed
        return MASK


# gunicorn ships no type hints: its classes are Any to the type checker.
class MaskedAtoms(SafeAtoms):  # type: ignore[misc]
    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        return _masked(value) if isinstance(value, str) and value != "-" else value


class MaskedErrorFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _masked(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class MaskedLogger(Logger):  # type: ignore[misc]
    atoms_wrapper_class = MaskedAtoms

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        self.error_log.addFilter(MaskedErrorFilter())
