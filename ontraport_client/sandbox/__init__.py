"""A local imitation of Ontraport's REST API: in memory, seeded from JSON, with rate limits and faults
on demand, so the site, its tests, demo and benchmarks run without an Ontraport account.

See docs/ontraport-sandbox.md.
"""

from .control import SandboxControl, SandboxControlError
from .server import SandboxServer

__all__ = ["SandboxControl", "SandboxControlError", "SandboxServer"]
