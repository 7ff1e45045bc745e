"""The web pages of `volmatch serve`: server-rendered pages for host partners,
coordinators and planners, signed in with an API key and kept in a server-side session.

`mount(app, settings)` adds the pages and their static files to the service's app. The
pages read and write through the same service functions as the API (no second copy of
the rules); the shared parts live here, the pages of each role in `routes/`.
"""
