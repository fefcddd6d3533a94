-- Order independence of the feeds: when mail pieces or mortgages arrive (by whatever path: the
-- mortgage files, the barcode map, partner A's workbook, a backfill), the deliveries and
-- call-center responses that were waiting for them are resolved by the same functions the feed
-- chunks call. Statement-level, over the transition table: set-based, once per statement.

-- Of these mortgage match keys, the ones some call-center response keyed: a chunk of new
-- mortgages brings tens of thousands of keys and callers have used few of them, so the responses
-- are looked up by the keys once here instead of the keys being sorted and carried along.
CREATE OR REPLACE FUNCTION keyed_mortgage_keys(p_keys text[]) RETURNS text[]
LANGUAGE sql STABLE AS $$
  SELECT ARRAY(SELECT DISTINCT r.lookup_mortgage_id FROM call_responses r
                WHERE r.lookup_mortgage_id IN (SELECT k FROM unnest(p_keys) AS u(k)));
$$;

CREATE OR REPLACE FUNCTION mail_pieces_arrived() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Exclusive against the feed chunks (which hold these shared), deliveries first, always in this order.
  PERFORM pg_advisory_xact_lock(delivery_lock_key());
  PERFORM resolve_deliveries(ARRAY(SELECT tracking_code FROM arrived));
  PERFORM pg_advisory_xact_lock(call_response_lock_key());
  PERFORM resolve_call_responses(ARRAY(SELECT tracking_code FROM arrived),
                                 keyed_mortgage_keys(ARRAY(SELECT match_key FROM arrived WHERE match_key IS NOT NULL)));
  RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER mail_pieces_inserted_resolve_feeds AFTER INSERT ON mail_pieces
  REFERENCING NEW TABLE AS arrived FOR EACH STATEMENT EXECUTE FUNCTION mail_pieces_arrived();
CREATE OR REPLACE TRIGGER mail_pieces_updated_resolve_feeds AFTER UPDATE ON mail_pieces
  REFERENCING NEW TABLE AS arrived FOR EACH STATEMENT EXECUTE FUNCTION mail_pieces_arrived();

CREATE OR REPLACE FUNCTION mortgages_arrived() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(call_response_lock_key());
  PERFORM resolve_call_responses('{}', keyed_mortgage_keys(ARRAY(SELECT match_key FROM arrived WHERE match_key IS NOT NULL)));
  RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER mortgages_inserted_resolve_feeds AFTER INSERT ON mortgages
  REFERENCING NEW TABLE AS arrived FOR EACH STATEMENT EXECUTE FUNCTION mortgages_arrived();
