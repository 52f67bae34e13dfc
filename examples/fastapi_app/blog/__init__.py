"""A small blog API on FastAPI and oxyde (see ../README.md)."""
