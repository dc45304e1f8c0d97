"""The admin of users, tags, field mappings, tag subscriptions and the changes sent to Ontraport: one module
per page, thin (queries shaped for the changelists, and buttons that call one service each).

The Users and Tags pages are assembled in layers, each adding only what it owns, and registered once:
accounts defines their base admins here (users.UserAdmin, tags.TagAdmin) without registering them; webhooks
adds what needs the way in (webhooks.accounts_admin); webhooks.adoption.admin adds imports and resyncs and
registers the finished admins. The other pages are accounts' alone and registered by their modules.
"""

from accounts.admin import field_mappings, outbox, tag_subscriptions  # noqa: F401 - they register their admins
