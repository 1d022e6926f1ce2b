"""The core's own job tasks."""

from __future__ import annotations

from pathlib import Path

from .jobs import JobError, job_task
from .models import Attachment
from .parsing import ParseError, parse_file


@job_task("core.parse_attachment")
def parse_attachment(job, ctx):
    """Run the enabled parsers on an uploaded attachment; the structured result is the job's
    result. Parameters: ``attachment`` (id), optional ``parser`` (name)."""
    try:
        attachment = Attachment.objects.get(pk=job.parameters["attachment"], session=job.session)
    except (KeyError, TypeError, ValueError, Attachment.DoesNotExist):
        raise JobError("parameter 'attachment' must name an attachment of this session") from None
    ctx.log(f"parsing {attachment.name}")
    ctx.progress(10)
    try:
        name, result = parse_file(Path(attachment.file.path), parser=job.parameters.get("parser"))
    except ParseError as exc:
        raise JobError(str(exc)) from None
    ctx.log(f"parsed with {name}")
    return {"parser": name, "data": result}
