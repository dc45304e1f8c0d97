"""What a sandbox starts with: its seed data, rate limit and credentials."""

from __future__ import annotations

from dataclasses import dataclass

from .seed import SeedData

DEFAULT_APP_ID = "sandbox-app"
DEFAULT_API_KEY = "sandbox-key"
DEFAULT_ACCOUNT_ID = 12345


@dataclass(frozen=True)
class SandboxConfig:
    seed: SeedData
    rate_limit: int = 0  # requests per window; 0 = unlimited
    window: float = 60.0
    app_id: str = DEFAULT_APP_ID
    api_key: str = DEFAULT_API_KEY
    account_id: int = DEFAULT_ACCOUNT_ID
