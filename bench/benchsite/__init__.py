"""A bench-only Django app: the two reference views the webhook endpoint is measured against."""
