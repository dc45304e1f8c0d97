"""LOG_FORMAT=json: one JSON object a line, for log shippers (Loki, CloudWatch, Elasticsearch...).

The settings' RedactSecretsFilter has already masked the message (webhooks.masking); the exception
text and any extra fields are masked here too, since they are formatted after the filter ran.
"""

import datetime
import json
import logging

from webhooks.masking import mask_text as redact

# Attributes every LogRecord has; anything else was passed with `extra=` and is included.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "process": record.process,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        # Objects passed as extras (Django's `request`) are written as their text, masked: a request's
        # text is its path with the query string, access key included.
        return json.dumps(entry, default=lambda value: redact(str(value)), ensure_ascii=False)
