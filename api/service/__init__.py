"""volmatch as a service: FastAPI app, durable round jobs, API keys, persistence."""

from api.service.app import create_app
from api.service.settings import Settings

__all__ = ["Settings", "create_app"]
