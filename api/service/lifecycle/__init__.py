"""After the match (issue 18), the service side: offers made when a round is published
and their append-only history, replies (hosts, coordinators, the volunteer's personal
link), expiry, backfill proposals with optimistic concurrency, waves, outcomes,
reminders with their outbox and optional e-mail, and the programme report.

Every function takes the caller's SQLAlchemy session and plain values, and raises
`ApiError` for what the caller did wrong: the routers and the web pages call the same
functions. The engine (`volmatch.matching.lifecycle`) does the matching; this package
stores and checks.
"""
