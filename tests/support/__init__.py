"""What the tests share: plain functions, classes and constants (fixtures live in the conftest files:
tests/conftest.py for the whole suite, tests/django_fixtures.py for the site's, and one per directory).

- admin_clients: logged-in admin clients (superuser, staff with given permissions), a page's messages, a
  user's change form as it posts, an object's admin history.
- browser: the site owner logged in through the admin's form, screenshots under var/screenshots/.
- databases: the test database's URL for other processes, the PostgreSQL server's, a TCP proxy that cuts it.
- directory: a fake Ontraport for the accounts service's unit tests.
- factories: factory_boy factories for every model the tests build, and parsed Ontraport contacts.
- metrics: /metrics read as Prometheus reads it.
- paths: BASE_DIR, the repository's root.
- processes: the site's real processes (web, workers) started on the test database and the sandbox.
- tag_guards_urls: a test URLconf of views guarded by tags, beside the site's own URLs.
- waiting: `wait_until`, polling with a deadline.
- webhooks: the test access key, and webhooks sent over HTTP to a running site.
"""
