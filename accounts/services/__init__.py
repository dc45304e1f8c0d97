"""Business logic of the accounts app: what an Ontraport contact means for a site user.

Callers (the webhooks worker, admin actions, management commands) import from the modules directly:
`sync` (link or create users from contacts), `tags`, `fields`, `roles`, `welcome`, `password_return`.
"""
