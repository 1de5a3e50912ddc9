"""A bench-only stand-in for a proposed sweep fix, to measure it before it is made.

sweep.services.sweep_chunk_run claims a chunk with
`SweepChunk.objects.select_for_update(skip_locked=True).select_related("run__policy")`.
Without `of=`, PostgreSQL's FOR UPDATE locks the joined SweepRun and Policy rows too, so
while one worker runs a chunk every other worker's claim skips *every* chunk of the run
(the run row is locked) and returns None: the chunk is left pending and nobody runs it.
The proposed fix is `select_for_update(skip_locked=True, of=("self",))`. `apply()` makes
every such claim behave that way in this process; the benchmark uses it only for the
figure labelled "with the lock fix", and never when the sweep already locks only the chunk.
"""

from __future__ import annotations

from django.db.models.query import QuerySet


def apply() -> None:
    original = QuerySet.select_for_update
    if getattr(original, "bench_lock_fix", False):
        return

    def select_for_update(self, nowait=False, skip_locked=False, of=(), no_key=False):
        if skip_locked and not of and self.model._meta.label == "sweep.SweepChunk":
            of = ("self",)
        return original(self, nowait=nowait, skip_locked=skip_locked, of=of, no_key=no_key)

    select_for_update.bench_lock_fix = True
    QuerySet.select_for_update = select_for_update
