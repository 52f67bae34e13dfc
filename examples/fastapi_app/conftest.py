"""The blog's tests use oxyde's pytest plugin: ``oxyde_transaction`` gives each test a
transaction rolled back at its end, shared with the app served in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from blog.main import app
from blog.models import Author, Post  # noqa: F401  (registered before the tables are made)


@pytest_asyncio.fixture
async def client(oxyde_transaction: object) -> AsyncIterator[httpx.AsyncClient]:
    # ASGITransport does not run the lifespan: the plugin's fixtures connect instead
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://blog") as client:
        yield client
