-- Up Migration
-- The match key of a mortgage id (letters and digits, upper-cased) becomes a stored column of
-- mortgages and mail_pieces, filled on the way in, instead of an expression index over
-- mortgage_match_key(): an index expression calls the SQL function for every row written, outside
-- the planner's inlining, and that cost more than the rest of a mortgage chunk's upsert.
ALTER TABLE staging_mortgages ADD COLUMN match_key text;
ALTER TABLE mortgages ADD COLUMN match_key text;
ALTER TABLE mail_pieces ADD COLUMN match_key text;
UPDATE mortgages SET match_key = mortgage_match_key(mortgage_id);
UPDATE mail_pieces SET match_key = mortgage_match_key(mortgage_id) WHERE mortgage_id IS NOT NULL;
DROP INDEX mortgages_match_key;
DROP INDEX mail_pieces_match_key;
CREATE INDEX mortgages_match_key ON mortgages (match_key, mortgage_id);
CREATE INDEX mail_pieces_match_key ON mail_pieces (match_key, tracking_code);
-- Four partners: no query reads a partner's mortgages through an index on it, and every mortgage
-- written paid for one.
DROP INDEX mortgages_partner;

-- What a chunk staged, for the batch's duplicate-key check (see reports.ts duplicateRows): its
-- staged rows and their distinct keys. NULL for chunks processed before.
ALTER TABLE import_chunks ADD COLUMN staged_rows int, ADD COLUMN distinct_keys int;
-- A chunk that is a byte range of the original object (UTF-8 delimited text is not copied into
-- chunk objects): {start, end, headerStart, headerEnd, line}, see stage.ts ChunkRange.
ALTER TABLE import_chunks ADD COLUMN byte_range jsonb;

-- Down Migration
ALTER TABLE import_chunks DROP COLUMN byte_range, DROP COLUMN distinct_keys, DROP COLUMN staged_rows;
CREATE INDEX mortgages_partner ON mortgages (partner);
DROP INDEX mail_pieces_match_key;
DROP INDEX mortgages_match_key;
CREATE INDEX mortgages_match_key ON mortgages (mortgage_match_key(mortgage_id), mortgage_id);
CREATE INDEX mail_pieces_match_key ON mail_pieces (mortgage_match_key(mortgage_id), tracking_code);
ALTER TABLE mail_pieces DROP COLUMN match_key;
ALTER TABLE mortgages DROP COLUMN match_key;
ALTER TABLE staging_mortgages DROP COLUMN match_key;
