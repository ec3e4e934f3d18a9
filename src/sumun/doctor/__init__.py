"""`sumun doctor`: check a deployment and say what to fix, without changing anything.

Each check is a small function of a `Context` returning `Check`s (ok / warn / fail, one line of
advice); `run_doctor` runs them with a bound on time, so an unreachable backend never hangs
the command. Nothing here writes: databases are opened read-only, backends are only asked
about their health, and no secret (token, PIN, DSN password, key) is ever put in a result.
"""

from sumun.doctor.model import Check, Context, Status
from sumun.doctor.run import doctor_context, run_doctor

__all__ = ["Check", "Context", "Status", "doctor_context", "run_doctor"]
