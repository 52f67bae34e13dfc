"""Code a user writes against the generated stubs.

``# revealed: T`` says what both checkers must reveal on that line (module prefixes
removed); ``# error`` says both must report an error there, and nowhere else.
"""

from decimal import Decimal
from typing import Any, reveal_type

from models import Company, Role, User, helper

from oxyde import Q


async def main() -> None:
    users = await User.objects.filter(email__icontains="a", age__gte=18).order_by("-age").all()
    reveal_type(users)  # revealed: list[User]
    one = await User.objects.get(pk=1)
    reveal_type(one)  # revealed: User
    maybe = await User.objects.filter(role=Role.admin).get_or_none(email="a@b.c")
    reveal_type(maybe)  # revealed: User | None
    first = await User.objects.order_by("id").first()
    reveal_type(first)  # revealed: User | None
    count = await User.objects.filter(company__name__startswith="Ac").count()
    reveal_type(count)  # revealed: int
    rows = await User.objects.values("email", "age").all()
    reveal_type(rows)  # revealed: list[dict[str, Any]]
    emails = await User.objects.values_list("email", flat=True).all()
    reveal_type(emails)  # revealed: list[Any]
    changed = await User.objects.filter(age__lt=18).update(age=18)
    reveal_type(changed)  # revealed: int
    updated = await User.objects.filter(age__lt=18).update(returning=True, age=18)
    reveal_type(updated)  # revealed: list[User]
    created = await User.objects.create(email="x@y.z", role=Role.user, balance=Decimal("1"))
    reveal_type(created)  # revealed: User
    pair = await User.objects.get_or_create(email="x@y.z", defaults={"age": 3})
    reveal_type(pair)  # revealed: tuple[User, bool]
    reveal_type(created.company_id)  # revealed: int | None
    reveal_type(created.display())  # revealed: str
    reveal_type(helper(1))  # revealed: int
    companies = await Company.objects.filter(name="Acme").exclude(id__in=[1, 2]).all()
    reveal_type(companies)  # revealed: list[Company]
    page = await User.objects.filter(joined__year=2024).limit(10).offset(20).all()
    reveal_type(page)  # revealed: list[User]

    deep: dict[str, Any] = {"company__name__iexact": "acme"}
    either = await User.objects.filter(Q(age__gte=1) | Q(age=None), **deep).count()
    reveal_type(either)  # revealed: int

    await User.objects.filter(emial="x").all()  # error
    await User.objects.exclude(age__gte="old").all()  # error
    await User.objects.get(nmae="x")  # error
    await User.objects.order_by("-agee").all()  # error
    await User.objects.values("emali").all()  # error
    await User.objects.create(email="x", unknown=1)  # error
    await User.objects.filter(age=1).update(agee=2)  # error
    await User.objects.filter(company__nmae="x").count()  # error
