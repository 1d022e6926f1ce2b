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
        worker(argv[2:])
        return
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


def worker(args: list[str]) -> None:
    """``mmcat worker [celery worker options]``: without ``-Q``/``--queues`` the worker consumes
    every queue the enabled plugins declared (and the default one)."""
    import django

    django.setup()
    from mmcat.celery import app
    from mmcat.jobs import job_tasks
    from mmcat.routing import queues

    if not any(a in ("-Q", "--queues") or a.startswith("--queues=") for a in args):
        job_tasks()
        args = [f"--queues={','.join(queues())}", *args]
    if not any(a.startswith(("-l", "--loglevel")) for a in args):
        args.append("--loglevel=INFO")
    app.worker_main(["worker", *args])


if __name__ == "__main__":
    main()
