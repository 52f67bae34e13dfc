"""What the benchmark set is: test names, data sizes and the seeded data, shared by all sides.

Standard library only: this module is imported by the orchestrator (the repository's
virtualenv) and by every contender's worker process (each in its own virtualenv).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

#: Data sizes of the standard ORM benchmark set: 1,000 users with 20 posts each, 50 tags,
#: and one to three tags on each of the first 1,000 posts.
USERS = 1000
POSTS_PER_USER = 20
TAGS = 50
TAGGED_POSTS = 1000

#: One seed for the data and one for the argument streams, so every contender reads the same
#: rows and looks up the same keys in the same order.
DATA_SEED = 42
ARGS_SEED = 7

#: Tests, grouped as the published suite groups them; the order is the run order.
GROUPS: dict[str, tuple[str, ...]] = {
    "crud": (
        "insert_single",
        "insert_bulk_100",
        "select_pk",
        "select_filter",
        "update_single",
        "update_bulk",
        "delete_single",
    ),
    "queries": (
        "filter_simple",
        "filter_complex",
        "filter_in",
        "order_limit",
        "aggregate_count",
        "aggregate_mixed",
    ),
    "relations": ("join_simple", "join_filter", "prefetch_related", "nested_prefetch"),
    "concurrent": ("concurrent_10", "concurrent_50", "concurrent_100"),
    # Results of 20,000 to 100,000 rows: what loading them costs, and (with --heartbeat)
    # how long the event loop is held meanwhile. Slow, so run only by name.
    "large": ("large_all_100k", "large_values_100k", "large_join_20k", "large_prefetch_100k"),
}

#: Groups a run leaves out unless asked for by name (``--group`` or ``--tests``).
OPT_IN_GROUPS: frozenset[str] = frozenset({"large"})

TESTS: tuple[str, ...] = tuple(name for names in GROUPS.values() for name in names)

#: What a run measures when no tests or groups are named.
DEFAULT_TESTS: tuple[str, ...] = tuple(
    name for group, names in GROUPS.items() if group not in OPT_IN_GROUPS for name in names
)

#: The ``large`` tests read ``items``: narrow rows, ``LARGE_ROWS`` of them, spread evenly
#: over the users; ``large_join_20k`` reads the first ``LARGE_JOIN_ROWS`` with their user.
LARGE_ROWS = 100_000
LARGE_JOIN_ROWS = 20_000
LARGE: frozenset[str] = frozenset(GROUPS["large"])

#: Tests that change the data: the orchestrator restores the seeded rows after them.
MUTATING: frozenset[str] = frozenset(
    {"insert_single", "insert_bulk_100", "update_single", "update_bulk", "delete_single"}
)

#: How many primary-key lookups one ``concurrent_N`` operation gathers.
CONCURRENCY: dict[str, int] = {"concurrent_10": 10, "concurrent_50": 50, "concurrent_100": 100}

#: Rows that one ``filter_in`` operation asks for.
FILTER_IN_SIZE = 100

#: ``delete_single`` removes distinct users, so one measurement never deletes more than this.
MAX_DELETES = USERS - 50

#: The database kinds and the names the report shows for them.
DATABASES: dict[str, str] = {"sqlite": "SQLite", "postgres": "PostgreSQL", "mysql": "MariaDB"}

_EPOCH = datetime(2024, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    name: str
    email: str
    age: int
    is_active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PostRow:
    id: int
    user_id: int
    title: str
    content: str
    views: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Dataset:
    users: list[UserRow]
    posts: list[PostRow]
    tags: list[tuple[int, str]]
    post_tags: list[tuple[int, int, int]]


def dataset() -> Dataset:
    """The seeded rows every contender starts from (ids explicit, so they are 1..N)."""
    rng = random.Random(DATA_SEED)
    users = [
        UserRow(
            id=i + 1,
            name=f"User{i}",
            email=f"user{i}@example.com",
            age=rng.randint(15, 70),
            is_active=rng.random() < 0.5,
            # Distinct instants, so ``order_limit`` has one right answer everywhere.
            created_at=_EPOCH + timedelta(minutes=i),
        )
        for i in range(USERS)
    ]
    posts: list[PostRow] = []
    for user in users:
        for j in range(POSTS_PER_USER):
            posts.append(
                PostRow(
                    id=len(posts) + 1,
                    user_id=user.id,
                    title=f"Post {j} by user {user.id}",
                    content=f"Content for post {j} " * 10,
                    views=rng.randint(0, 1000),
                    created_at=user.created_at + timedelta(seconds=j),
                )
            )
    tags = [(i + 1, f"tag{i}") for i in range(TAGS)]
    tag_ids = [tag_id for tag_id, _ in tags]
    post_tags: list[tuple[int, int, int]] = []
    for post in posts[:TAGGED_POSTS]:
        for tag_id in rng.sample(tag_ids, rng.randint(1, 3)):
            post_tags.append((len(post_tags) + 1, post.id, tag_id))
    return Dataset(users=users, posts=posts, tags=tags, post_tags=post_tags)


def large_items() -> list[tuple[int, int, int, str]]:
    """The ``items`` rows: (id, user_id, value, label)."""
    return [(i + 1, i % USERS + 1, i * 7 % 1000, f"item {i}") for i in range(LARGE_ROWS)]


def shuffled_user_ids(salt: int = 0) -> list[int]:
    """Every seeded user id once, in a fixed random order (the same for every contender)."""
    ids = list(range(1, USERS + 1))
    random.Random(ARGS_SEED + salt).shuffle(ids)
    return ids


def cycle_user_ids(salt: int = 0) -> Iterator[int]:
    """An endless stream of seeded user ids, walking :func:`shuffled_user_ids` round and round."""
    ids = shuffled_user_ids(salt)
    while True:
        yield from ids
