"""volmatch as a service: FastAPI app, durable round jobs, API keys, persistence."""

from volmatch.api.service.app import create_app
from volmatch.api.service.settings import Settings

__all__ = ["Settings", "create_app"]
