-- Up Migration
-- A call keyed with a mortgage id is matched to that mortgage's mail piece with the lowest
-- tracking code: one index range read (with only (mortgage_id), the planner may walk the primary key).
CREATE INDEX mail_pieces_mortgage_tracking ON mail_pieces (mortgage_id, tracking_code);

-- The delivery ledger is written once per event: no index it does not read, and the first
-- delivery keeps the id of its event without a foreign-key check per row (events are never deleted).
DROP INDEX delivery_events_import;
ALTER TABLE mail_piece_deliveries DROP CONSTRAINT mail_piece_deliveries_event_id_fkey;

-- Down Migration
ALTER TABLE mail_piece_deliveries ADD FOREIGN KEY (event_id) REFERENCES delivery_events (id);
CREATE INDEX delivery_events_import ON delivery_events (import_id);
DROP INDEX mail_pieces_mortgage_tracking;
