"""Integrity of the django-mptt trees (org units, and later capabilities and categories)."""

from django.apps import apps
from mptt.models import MPTTModel


def tree_models() -> list:
    return [m for m in apps.get_models() if issubclass(m, MPTTModel) and not m._meta.abstract]


def tree_problems(model) -> list[str]:
    """Where the stored nested-set numbers disagree with the parent pointers."""
    rows = list(model._default_manager.values("pk", "parent_id", "lft", "rght", "tree_id", "level"))
    by_pk = {row["pk"]: row for row in rows}
    children: dict = {}
    for row in rows:
        children.setdefault(row["parent_id"], []).append(row)
    problems = []
    name = model._meta.verbose_name

    def descendants(pk) -> int:
        count, stack = 0, [pk]
        while stack:
            for child in children.get(stack.pop(), []):
                count += 1
                stack.append(child["pk"])
        return count

    for row in rows:
        label = f"{name} {row['pk']}"
        if row["lft"] >= row["rght"]:
            problems.append(f"{label}: lft {row['lft']} is not below rght {row['rght']}")
        if (row["rght"] - row["lft"] - 1) // 2 != descendants(row["pk"]):
            problems.append(f"{label}: lft/rght do not span its {descendants(row['pk'])} "
                            "descendants")  # fmt: skip
        parent = by_pk.get(row["parent_id"])
        if row["parent_id"] is None:
            if row["level"] != 0 or row["lft"] != 1:
                problems.append(f"{label}: a root must have level 0 and lft 1")
            continue
        if parent is None:
            problems.append(f"{label}: parent {row['parent_id']} does not exist")
            continue
        if row["tree_id"] != parent["tree_id"]:
            problems.append(f"{label}: tree_id differs from its parent's")
        if row["level"] != parent["level"] + 1:
            problems.append(f"{label}: level is not its parent's level + 1")
        if not parent["lft"] < row["lft"] < row["rght"] < parent["rght"]:
            problems.append(f"{label}: not nested inside its parent")
    return problems
