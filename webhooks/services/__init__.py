"""What the way in does, one module a job (HackSoft-style services: functions that write; the reads they
need are webhooks.selectors'):

    recording    the deliveries log: an accepted webhook, a refused one, a test webhook's sender, what a
                 run did with its contacts
    claiming     which ready deliveries a worker takes now, and when to look again
    merging      a contact's claimed deliveries as one request
    processing   apply claimed deliveries: 50 contacts per Ontraport call, one accounts service
    outcomes     done, failed or pending again, written only where the worker still holds the claim
    leases       a live worker keeps its claims, a dead one loses them
    replay       put finished deliveries back in the queue
    retention    prune old finished deliveries
    throttle     answer 429 to an address that keeps sending wrong keys
"""
