"""The cost of hashing a password: Django's default PBKDF2 vs the hasher for generated passwords.

.venv/bin/python bench/hasher.py [--default N] [--generated N]

Prints one JSON line: each hasher's iterations and its CPU and wall milliseconds per hash.
"""

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path


def cost_ms(hash_one: Callable[[], object], n: int) -> dict[str, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        hash_one()
    return {
        "cpu_ms": round((time.process_time() - cpu) / n * 1000, 3),
        "wall_ms": round((time.perf_counter() - wall) / n * 1000, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--default", type=int, default=5, help="hashes timed with the default hasher")
    parser.add_argument("--generated", type=int, default=500, help="hashes timed with the generated one")
    args = parser.parse_args()  # before Django is set up: --help prints and exits at once

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fusion_site.settings")
    os.environ.setdefault("FUSION_ACCESS_KEY", "bench-only-key-0123456789abcdef")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.contrib.auth.hashers import get_hasher, make_password

    from accounts.passwords import password_generate, password_hash_generated

    print(
        json.dumps(
            {
                "default": {
                    "iterations": get_hasher("default").iterations,
                    **cost_ms(lambda: make_password(password_generate()), args.default),
                },
                "generated": {
                    "iterations": get_hasher("pbkdf2_sha256_generated").iterations,
                    **cost_ms(lambda: password_hash_generated(password_generate()), args.generated),
                },
                "loadavg": [round(x, 2) for x in os.getloadavg()],
            }
        )
    )


if __name__ == "__main__":
    main()
