from django.core.management.base import BaseCommand

import mmcat
from mmcat.dictionary import techniques
from mmcat.plugins.loading import installed_plugins
from mmcat.plugins.manager import enabled_plugins


class Command(BaseCommand):
    help = "List installed and enabled plugins with their versions."

    def handle(self, *args, **options):
        enabled = {c.label: c for c in enabled_plugins()}
        self.stdout.write(f"mmcat core {mmcat.__version__}")
        installed = installed_plugins()
        slugs = sorted(set(installed) | set(enabled))
        if not slugs:
            self.stdout.write("no plugin installed")
        for slug in slugs:
            config = enabled.get(slug)
            state = "enabled" if config else "installed"
            version = config.version if config else _dist_version(slug)
            module = installed.get(slug) or config.name
            self.stdout.write(f"{slug:<12} {version:<10} {state:<10} {module}")
        techs = ", ".join(f"{t.slug} ({len(t.parameters)} parameters)"
                          for t in techniques().values())
        self.stdout.write(f"techniques: {techs or 'none'}")


def _dist_version(slug):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(f"mmcat-{slug}")
    except PackageNotFoundError:
        return "?"
