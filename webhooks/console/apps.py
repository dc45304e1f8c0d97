from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The site owner's "Ontraport" page in the admin: health, URLs to paste, settings, a test webhook.
    Depends on webhooks and accounts; nothing depends on it."""

    name = "webhooks.console"
    label = "console"  # the app label of its tables and migrations, kept from before the move
    verbose_name = "Ontraport"
