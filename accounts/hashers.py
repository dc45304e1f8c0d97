"""A cheap hasher for machine-generated passwords.

Key stretching protects passwords people choose, which are guessable; a password drawn from `secrets` with
at least 128 bits of entropy cannot be brute-forced whatever the hash costs. Django 6.1's default PBKDF2
costs ~0.7 s of CPU per hash on a small server, which would make a burst of new users take hours, so
generated passwords are stored with few iterations. The default hasher stays first in PASSWORD_HASHERS, so
the hash is upgraded to full strength the first time the user logs in, and any password a person sets is
hashed at full strength from the start.
"""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class GeneratedPasswordHasher(PBKDF2PasswordHasher):
    algorithm = "pbkdf2_sha256_generated"
    iterations = 1_000
