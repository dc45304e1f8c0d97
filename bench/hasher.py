"""The cost of hashing a password: Django's default PBKDF2 vs the hasher for generated passwords.

.venv/bin/python bench/hasher.py
"""

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fusion_site.settings")
os.environ.setdefault("FUSION_ACCESS_KEY", "bench-only-key-0123456789abcdef")
os.environ.setdefault("DEBUG", "1")

import django

django.setup()
from django.contrib.auth.hashers import get_hasher, make_password  # noqa: E402

from accounts.passwords import password_generate, password_hash_generated  # noqa: E402


def cost_ms(hash_one, n: int) -> dict[str, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        hash_one()
    return {
        "cpu_ms": round((time.process_time() - cpu) / n * 1000, 3),
        "wall_ms": round((time.perf_counter() - wall) / n * 1000, 3),
    }


print(
    json.dumps(
        {
            "default": {
                "iterations": get_hasher("default").iterations,
                **cost_ms(lambda: make_password(password_generate()), 5),
            },
            "generated": {
                "iterations": get_hasher("pbkdf2_sha256_generated").iterations,
                **cost_ms(lambda: password_hash_generated(password_generate()), 500),
            },
            "loadavg": [round(x, 2) for x in os.getloadavg()],
        }
    )
)
