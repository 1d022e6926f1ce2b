import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from mmcat.parsing import ParseError, parse_file, parsers


class Command(BaseCommand):
    help = "Parse a pipeline or instrument file with the enabled parsers; print JSON."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", type=Path)
        parser.add_argument("--parser", help="Use this parser instead of detecting one.")
        parser.add_argument("--list", action="store_true", help="List the parsers.")

    def handle(self, *args, **options):
        if options["list"]:
            for p in parsers().values():
                self.stdout.write(f"{p.name:<24} {p.technique:<8} {p.label}")
            return
        if options["file"] is None:
            raise CommandError("Give a FILE to parse (or --list).")
        try:
            name, result = parse_file(options["file"], parser=options["parser"])
        except ParseError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps({"parser": name, "result": result}, indent=2, default=str))
