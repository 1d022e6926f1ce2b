import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from mmcat import demo


class Command(BaseCommand):
    help = ("Migrate, load the demo data (once), print the logins, and serve mmCAT with a "
            "Celery worker on the embedded broker.")

    def add_arguments(self, parser):
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--no-serve", action="store_true",
                            help="Only migrate and load the data.")

    def handle(self, *args, port, no_serve, **options):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        if demo.is_loaded():
            self.stdout.write("Demo data already loaded (delete var/ to start again).")
            logins = [(u, w) for u, *_, w in demo.PEOPLE]
        else:
            logins = demo.load()
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self.stdout.write(f"\nSign in at http://localhost:{port}/ with password "
                          f"'{demo.PASSWORD}' as:")
        for username, what in logins:
            self.stdout.write(f"  {username:<8} {what}")
        self.stdout.write(f"API docs: http://localhost:{port}/api/docs/  "
                          f"Admin: http://localhost:{port}/admin/ (as erik: staff)\n")
        if no_serve:
            return
        worker = subprocess.Popen(
            [sys.executable, "-m", "mmcat.cli", "worker", "--pool=solo", "--loglevel=WARNING",
             "--without-gossip", "--without-mingle"],
            env={**os.environ, "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE},
        )
        # Stopping the demo (Ctrl-C or SIGTERM) stops its worker too.
        signal.signal(signal.SIGTERM, lambda *args: sys.exit(0))
        try:
            call_command("runserver", f"127.0.0.1:{port}", use_reloader=False)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
