from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Users and Ontraport data"

    def ready(self) -> None:
        from accounts import checks  # noqa: F401 - registers the system check
