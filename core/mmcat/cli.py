"""The ``mmcat`` command: ``manage.py`` for an installed mmCAT (``mmcat demo``, ``mmcat plugins``,
``mmcat parse FILE``, ``mmcat worker``, and every Django command)."""

import os
import sys


def main(argv=None):
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mmcat.settings")
    if len(argv) > 1 and argv[1] == "demo":
        os.environ.setdefault("MMCAT_DEBUG", "1")  # the local demo: plain http, debug pages
    if len(argv) > 1 and argv[1] == "worker":
        from mmcat.celery import app

        app.worker_main(["worker", *(argv[2:] or ["--loglevel=INFO"])])
        return
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
