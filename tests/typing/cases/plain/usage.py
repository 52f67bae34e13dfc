"""Code a user writes with no generated stubs: the query API is generic in the model.

``# revealed: T`` says what both checkers must reveal on that line (module prefixes
removed); ``# error`` says both must report an error there, and nowhere else.
"""

from typing import Any, reveal_type

from models import Company, User

from oxyde import Q


async def main() -> None:
    users = await User.objects.filter(age__gte=18).order_by("-age").all()
    reveal_type(users)  # revealed: list[User]
    query = User.objects.filter(Q(age__gte=1) | Q(age=None)).exclude(email="x").limit(3)
    reveal_type(query)  # revealed: Query[User]
    one = await User.objects.get(pk=1)
    reveal_type(one)  # revealed: User
    maybe = await User.objects.get_or_none(email="a@b.c")
    reveal_type(maybe)  # revealed: User | None
    first = await User.objects.order_by("id").first()
    reveal_type(first)  # revealed: User | None
    last = await query.last()
    reveal_type(last)  # revealed: User | None
    joined = await User.objects.join("company").filter(company__name="Acme")[:5].all()
    reveal_type(joined)  # revealed: list[User]
    rows = await User.objects.values("email", "age").all()
    reveal_type(rows)  # revealed: list[dict[str, Any]]
    pairs = await User.objects.values_list("email", "age").all()
    reveal_type(pairs)  # revealed: list[tuple[Any, ...]]
    emails = await User.objects.values_list("email", flat=True).all()
    reveal_type(emails)  # revealed: list[Any]
    as_dicts = await User.objects.filter(age=3).all(mode="dict")
    reveal_type(as_dicts)  # revealed: list[dict[str, Any]]
    packed = await User.objects.all(mode="msgpack")
    reveal_type(packed)  # revealed: bytes
    created = await User.objects.create(email="x@y.z")
    reveal_type(created)  # revealed: User
    pair = await User.objects.get_or_create(email="x@y.z", defaults={"age": 3})
    reveal_type(pair)  # revealed: tuple[User, bool]
    many = await User.objects.bulk_create([User(email="a@b.c"), {"email": "d@e.f"}])
    reveal_type(many)  # revealed: list[User]
    changed = await User.objects.filter(age__lt=18).update(age=18)
    reveal_type(changed)  # revealed: int
    updated = await User.objects.filter(age__lt=18).update(returning=True, age=18)
    reveal_type(updated)  # revealed: list[User]
    by_pk = await Company.objects.in_bulk([1, 2])
    reveal_type(by_pk)  # revealed: dict[Any, Company]
    async for streamed in User.objects.iterator(chunk_size=100):
        reveal_type(streamed)  # revealed: User
    count = await User.objects.count()
    reveal_type(count)  # revealed: int

    extra: dict[str, Any] = {"age": 1}
    company: Company = await User.objects.get(**extra)  # error
    print(company)
    print((await User.objects.first()).email)  # error
    await User.objects.create(instance=Company(name="x"))  # error
