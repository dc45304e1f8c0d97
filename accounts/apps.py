from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Users and Ontraport data"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from accounts import checks  # noqa: F401 - registers the system check
        from accounts.models import User
        from accounts.receivers import user_created

        post_save.connect(user_created, sender=User, dispatch_uid="accounts.user_created")
