"""Generated passwords: random, long, and hashed with the hasher meant for them (see accounts.hashers)."""

import secrets

from django.contrib.auth.hashers import make_password

from accounts.hashers import GeneratedPasswordHasher

# 24 bytes = 192 bits of entropy, 32 URL-safe characters.
GENERATED_PASSWORD_BYTES = 24


def password_generate() -> str:
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)


def password_hash_generated(password: str) -> str:
    return make_password(password, hasher=GeneratedPasswordHasher.algorithm)
