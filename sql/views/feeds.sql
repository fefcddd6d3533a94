-- What the feeds are waiting for, and what they refused: for the dashboard and `leadpipe sql`.

-- Delivery events whose mail piece is not known yet (applied when it arrives).
CREATE OR REPLACE VIEW deliveries_pending AS
  SELECT e.partner, e.tracking_code, e.event_at, e.event_code, e.imb_raw, e.received_at, i.file_name, e.source_row
    FROM delivery_events e JOIN imports i ON i.id = e.import_id
   WHERE e.status = 'pending';

-- Delivery events refused by the partner rule, with the reason.
CREATE OR REPLACE VIEW deliveries_rejected AS
  SELECT e.partner, e.tracking_code, e.event_at, e.event_code, e.reason, e.resolved_at, i.file_name, e.source_row
    FROM delivery_events e JOIN imports i ON i.id = e.import_id
   WHERE e.status = 'rejected';

-- Call-center responses matched to neither a mail piece nor a mortgage (yet).
CREATE OR REPLACE VIEW call_responses_unmatched AS
  SELECT r.id, r.caller_phone, r.called_at, r.disposition, r.keyed_mortgage_id, r.keyed_tracking, r.received_at, i.file_name, r.source_row
    FROM call_responses r JOIN imports i ON i.id = r.import_id
   WHERE r.match_method IS NULL;

-- Counts per feed and state: the pending and unmatched backlog at a glance.
CREATE OR REPLACE VIEW feed_backlog AS
  SELECT 'deliveries' AS feed, partner, status AS state, count(*) AS events
    FROM delivery_events GROUP BY partner, status
  UNION ALL
  SELECT 'call_responses', partner, CASE WHEN match_method IS NULL THEN 'unmatched' ELSE 'matched by ' || match_method END, count(*)
    FROM call_responses GROUP BY partner, match_method;
