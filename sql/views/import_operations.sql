-- Progress of each import for the dashboard and the CLI: chunks and rows done, rows per second
-- since its chunks started processing.
CREATE OR REPLACE VIEW import_progress AS
SELECT i.id, i.file_name, i.source, i.status, i.current_step, i.chunks_done, i.chunks_total,
       coalesce(c.rows_done, 0)::bigint AS rows_done, c.rows_total::bigint AS rows_total,
       round(extract(epoch FROM coalesce(i.finished_at, now()) - p.started_at)::numeric, 3) AS processing_seconds,
       CASE WHEN extract(epoch FROM coalesce(i.finished_at, now()) - p.started_at) > 0
            THEN round(coalesce(c.rows_done, 0) / extract(epoch FROM coalesce(i.finished_at, now()) - p.started_at)::numeric)
       END AS rows_per_second,
       i.created_at
FROM imports i
LEFT JOIN LATERAL (SELECT (i.step_timings -> 'process' ->> 'started_at')::timestamptz AS started_at) p ON true
LEFT JOIN LATERAL (
  SELECT sum(rows_read) FILTER (WHERE status = 'DONE') AS rows_done, sum(records) AS rows_total
  FROM import_chunks WHERE import_id = i.id
) c ON true;

-- Every original import with its errors-only replays: the rows of the file are accounted for
-- across the runs. rows_read = accepted (first run) + resolved_by_replays + outstanding_rejects,
-- and the replays' accepted rows are exactly the resolved ones.
CREATE OR REPLACE VIEW import_replay_reconciliation AS
SELECT o.id AS import_id, o.file_name, o.status, o.rows_read, o.accepted, o.rejected,
       coalesce(r.replays, 0)::int AS replays,
       coalesce(r.rows_read, 0)::bigint AS replay_rows_read,
       coalesce(r.accepted, 0)::bigint AS replay_accepted,
       coalesce(r.rejected, 0)::bigint AS replay_rejected,
       coalesce(x.resolved, 0)::bigint AS resolved_by_replays,
       coalesce(x.outstanding, 0)::bigint AS outstanding_rejects
FROM imports o
LEFT JOIN LATERAL (
  SELECT count(*) AS replays, sum(rows_read) AS rows_read, sum(accepted) AS accepted, sum(rejected) AS rejected
  FROM imports WHERE replay_of = o.id AND replay_mode = 'errors-only' AND status IN ('COMPLETE', 'COMPLETE_WITH_ERRORS')
) r ON true
LEFT JOIN LATERAL (
  SELECT count(DISTINCT row_number) FILTER (WHERE resolved_by IS NOT NULL) AS resolved,
         count(DISTINCT row_number) FILTER (WHERE resolved_by IS NULL) AS outstanding
  FROM import_rejects WHERE import_id = o.id
) x ON true
WHERE o.replay_of IS NULL;
