"""The cost of the username rules: the key "taken" is decided on, and the confusables skeleton compared with
staff users' names (accounts.identity).

.venv/bin/python bench/usernames.py [--names 10000] [--json]
"""

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fusion_site.settings")
os.environ.setdefault("FUSION_ACCESS_KEY", "bench-only-key-0123456789abcdef")
os.environ.setdefault("DEBUG", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=10_000, help="names to time each function on")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()

    from accounts import identity

    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    characters = len(identity._prototype_map())
    build_ms = (time.perf_counter() - started) * 1000
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    names = [f"dana.adams{n}@example.com" for n in range(options.names)]
    skeleton = identity.username_skeleton.__wrapped__  # uncached: every name computed
    started = time.perf_counter()
    for name in names:
        skeleton(name)
    skeleton_us = (time.perf_counter() - started) / len(names) * 1e6
    started = time.perf_counter()
    for name in names:
        identity.username_key(name)
    key_us = (time.perf_counter() - started) / len(names) * 1e6

    figures = {
        "prototype_characters": characters,
        "prototype_map_build_ms": round(build_ms, 1),
        "prototype_map_peak_rss_mb": round((peak_after - peak_before) / 1024, 1),
        "skeleton_us_per_name": round(skeleton_us, 2),
        "username_key_us_per_name": round(key_us, 3),
    }
    if options.json:
        print(json.dumps(figures))
        return
    print(
        f"prototype map: {characters} characters, built in {build_ms:.0f} ms "
        f"(+{figures['prototype_map_peak_rss_mb']} MB peak RSS)"
    )
    print(f"username_skeleton: {skeleton_us:.1f} µs a name; username_key: {key_us:.2f} µs a name")


if __name__ == "__main__":
    main()
