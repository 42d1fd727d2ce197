"""The RQ worker class of the Procfile's `worker` (the "default" queue).

RQ's own `Worker` forks a process for every job: each one then opens its database
connection again, builds its AWS clients again (botocore loads its service models anew,
a tenth of a second) and forgets the assumed roles' credentials. A setup step is a few
AWS calls, so that cost was most of provisioning's time. `PortalWorker` runs the jobs in
the worker's own process, as RQ's `SimpleWorker` does, and checks the database
connection before each job as Django does before each web request (a connection the
database dropped, or older than `DATABASE_CONN_MAX_AGE`, is replaced). Timeouts, retries,
failure callbacks and the warm shutdown on SIGTERM are RQ's, unchanged. The config packs'
worker keeps RQ's forking `Worker`: a render takes seconds, the fork nothing by
comparison, and WeasyPrint's memory goes with each job's process.

Before it starts listening, `PortalWorker` loads the AWS service models its jobs use
(`vpn.aws.models_load`), so that the first job after a start is as quick as the rest.
"""

from django.db import close_old_connections
from rq import SimpleWorker

from vpn import aws


class PortalWorker(SimpleWorker):
    """RQ's `SimpleWorker` with Django's database connections checked before each job,
    and AWS's service models loaded before the first."""

    def work(self, *args, **kwargs) -> bool:
        """Load the AWS service models, then work as RQ's worker does."""
        aws.models_load()
        return super().work(*args, **kwargs)

    def execute_job(self, job, queue) -> None:
        """Run `job` here, on a database connection that is still usable."""
        close_old_connections()
        super().execute_job(job, queue)
