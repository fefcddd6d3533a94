-- Up Migration
-- How common each given name, surname, date of birth and ZIP is among the resolved person records
-- (packages/core/src/people/frequencies.ts): matching weighs a name's agreement by it ("James
-- Smith" in a ZIP needs more than "Kwame Okafor"). key: a value ("#g:robert", "#l:smith",
-- "#d:1970-03-04", "#z:02116", "#f:bob" for a given name as written), the records having a value
-- of that kind ("#g") or all records ("#"). Each resolved record's value keys are also in
-- person_keys, so a record resolved again (a newer delivery) takes its old values away first.
CREATE TABLE person_value_counts (
  key  text PRIMARY KEY,
  n    bigint NOT NULL
);

-- Down Migration
DROP TABLE person_value_counts;
