-- Up Migration
-- A mortgage id as a caller keys it ("b 100004", "B100004") is compared with the ids we hold by
-- its letters and digits only. The key function is part of the schema: the indexes below use it.
CREATE FUNCTION mortgage_match_key(p_mortgage_id text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT nullif(regexp_replace(upper(p_mortgage_id), '[^A-Z0-9]', '', 'g'), '');
$$;
CREATE INDEX mortgages_match_key ON mortgages (mortgage_match_key(mortgage_id), mortgage_id);
CREATE INDEX mail_pieces_match_key ON mail_pieces (mortgage_match_key(mortgage_id), tracking_code);

-- Down Migration
DROP INDEX mail_pieces_match_key;
DROP INDEX mortgages_match_key;
DROP FUNCTION mortgage_match_key(text);
