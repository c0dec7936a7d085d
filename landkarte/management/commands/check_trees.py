from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from landkarte.trees import tree_models, tree_problems


class Command(BaseCommand):
    help = "Check the nested-set numbers of every tree (org units, …); --rebuild repairs them."

    def add_arguments(self, parser):
        parser.add_argument(
            "--rebuild", action="store_true", help="rebuild broken trees from parent pointers"
        )

    def handle(self, *args, rebuild: bool, **options):
        broken = 0
        for model in tree_models():
            problems = tree_problems(model)
            label = model._meta.verbose_name_plural
            if not problems:
                self.stdout.write(f"{label}: OK ({model._default_manager.count()} nodes)")
                continue
            broken += 1
            for problem in problems[:50]:
                self.stdout.write(f"{label}: {problem}")
            if rebuild:
                with transaction.atomic():
                    model._default_manager.rebuild()
                left = tree_problems(model)
                self.stdout.write(f"{label}: rebuilt, {len(left)} problems left")
                broken -= not left
        if broken:
            raise CommandError(f"{broken} tree(s) are inconsistent; run with --rebuild")
