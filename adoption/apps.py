from django.apps import AppConfig


class AdoptionConfig(AppConfig):
    """Adopting an Ontraport account and keeping in step: import, resync and the scheduled sweep.

    Sits above webhooks (it logs to the deliveries log) and accounts (it applies contacts through the
    accounts service); neither imports it."""

    name = "adoption"
