"""What the way in does (HackSoft-style services: keyword-only functions that write): record webhooks,
claim and apply deliveries, record outcomes, replay, prune, throttle wrong keys, renew leases."""
