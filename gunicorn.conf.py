"""gunicorn's settings for fusion-site's web nodes (read from the working directory by `gunicorn`).

Everything has an environment override, as the site's settings do. See docs/deployment.md.
"""

import os

bind = f"{os.environ.get('BIND_HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104 - behind a proxy
# Sync workers: a webhook is one short INSERT; they gave SQLite the best tail latency (docs/benchmarks.md).
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
backlog = int(os.environ.get("GUNICORN_BACKLOG", "2048"))  # a burst of webhooks queues here, not refused
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM (a deploy, a restart) workers finish the requests they are serving before they exit.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# Recycle workers now and then (a slow leak in any library cannot grow for ever); jitter avoids all at once.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = max_requests // 10
# The proxy in front sets X-Forwarded-*; trust it only from these addresses.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Access and error logs pass the site's masking (fusion_site.log_gunicorn): the key in a query string, a path,
# a User-Agent or a Referer is printed as ***, so the access line can carry the whole request line.
logger_class = "fusion_site.log_gunicorn.MaskedLogger"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
if os.environ.get("LOG_FORMAT", "plain") == "json":
    access_log_format = (
        '{"logger": "gunicorn.access", "remote": "%(h)s", "method": "%(m)s", "path": "%(U)s", '
        '"query": "%(q)s", "status": %(s)s, "bytes": "%(b)s", "ms": %(M)s, "referer": "%(f)s", '
        '"user_agent": "%(a)s"}'
    )
else:
    access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s"'
errorlog = "-"
