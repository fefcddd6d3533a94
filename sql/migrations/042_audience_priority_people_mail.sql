-- Up Migration
-- Audiences, second round: campaign priority, compliance per person (golden records), and the
-- mail channel's contact point (the golden record's postal address). The rules are
-- sql/functions/audience_rules.sql; docs/audiences.md says what each means.

-- Priority: 1 is the highest. When a person is in the published audience of a campaign with a
-- strictly higher priority (smaller number) on the same channel and day, a lower-priority
-- campaign leaves them out. Campaigns of equal priority (all of them by default) do not compete.
ALTER TABLE campaigns ADD COLUMN priority int NOT NULL DEFAULT 100 CHECK (priority BETWEEN 1 AND 1000);

-- The mail channel's contact point is the golden record's standardized postal address.
ALTER TABLE channels DROP CONSTRAINT channels_contact_point_check;
ALTER TABLE channels ADD CONSTRAINT channels_contact_point_check CHECK (contact_point IN ('email', 'phone', 'address'));
UPDATE channels SET contact_point = 'address' WHERE channel = 'mail';

-- Touchpoints name the golden record they reached (persons.person_id), when there is one.
ALTER TABLE touchpoints ALTER COLUMN person_id TYPE bigint USING person_id::bigint;
-- The same-day audiences of other campaigns on a channel (priority), read per channel and day.
CREATE INDEX touchpoints_channel_day ON touchpoints (channel, touched_on);

-- Down Migration
DROP INDEX touchpoints_channel_day;
ALTER TABLE touchpoints ALTER COLUMN person_id TYPE text USING person_id::text;
UPDATE channels SET contact_point = NULL WHERE channel = 'mail';
ALTER TABLE channels DROP CONSTRAINT channels_contact_point_check;
ALTER TABLE channels ADD CONSTRAINT channels_contact_point_check CHECK (contact_point IN ('email', 'phone'));
ALTER TABLE campaigns DROP COLUMN priority;
