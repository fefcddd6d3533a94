/** The legacy CRM the migration tests migrate (MariaDB and SQLite), and the manifest every run of it must print. */
import { startMariaDb, type RunningMariaDb } from "./mariadb";

// A CRM with campaigns and touchpoints keyed by legacy ids, and child tables of its customers: phones and
// addresses (a foreign key) and emails (no foreign key: customer_id by name). Refused on purpose: a customer with
// a bad e-mail (and so the touchpoint naming them), a campaign name without a letter (and its
// touchpoint), a phone without a customer, an e-mail of a customer that does not exist.
export const SCHEMA = (campaign: string, fk: (col: string, table: string) => string) => `
CREATE TABLE customers (id INTEGER PRIMARY KEY, first_name VARCHAR(50), last_name VARCHAR(50), email VARCHAR(100), zip VARCHAR(10));
INSERT INTO customers VALUES (1, 'Ann', 'Smith', 'ann@example.com', '02116'), (2, 'Bob', 'Jones', 'bob@example.com', '02117'),
  (3, 'Cy', 'Lee', 'not-an-email', '02118');
CREATE TABLE phones (id INTEGER PRIMARY KEY, customer_id INTEGER, phone VARCHAR(30)${fk("customer_id", "customers")});
INSERT INTO phones VALUES (1, 1, '617-555-0101'), (2, 1, '617-555-0111'), (3, 2, '617-555-0102'), (4, NULL, '617-555-0199');
CREATE TABLE addresses (id INTEGER PRIMARY KEY, customer_id INTEGER, street VARCHAR(100), city VARCHAR(50), state CHAR(2),
  zip VARCHAR(10)${fk("customer_id", "customers")});
INSERT INTO addresses VALUES (1, 2, '12 Main St', 'Boston', 'MA', '02110');
CREATE TABLE emails (id INTEGER PRIMARY KEY, customer_id INTEGER, email VARCHAR(100));
INSERT INTO emails VALUES (1, 1, 'ann.smith@work.example'), (2, 9, 'ghost@example.com');
CREATE TABLE campaigns (id INTEGER PRIMARY KEY, name VARCHAR(100), channel VARCHAR(10), description TEXT, created_at DATETIME);
INSERT INTO campaigns VALUES (1, '${campaign}Spring Mailer 2020', 'mail', 'Spring  refinance', '2020-03-01 09:00:00'),
  (2, '${campaign}E-mail Blast', 'email', NULL, NULL), (3, '!!!', 'mail', NULL, NULL);
CREATE TABLE touchpoints (id INTEGER PRIMARY KEY, campaign_id INTEGER, customer_id INTEGER, channel VARCHAR(10), sent_at DATETIME
  ${fk("campaign_id", "campaigns")}${fk("customer_id", "customers")});
INSERT INTO touchpoints VALUES (1, 1, 1, 'mail', '2020-03-02 10:00:00'), (2, 2, 1, 'email', '2020-03-05 23:30:00'),
  (3, 1, 2, 'mail', '2020-03-02 11:00:00'), (4, 3, 2, 'mail', '2020-03-03 11:00:00'), (5, 1, 3, 'mail', '2020-03-02 12:00:00');
`;

export const mariaFk = (col: string, table: string) => `, FOREIGN KEY (${col}) REFERENCES ${table} (id)`;

/** A table's line of a balanced manifest whose checksums match. */
export const row = (table: string, source_rows: number, loaded: number, quarantined: number) => ({
  table,
  source_rows,
  loaded,
  quarantined,
  dropped: 0,
  checksums_match: true,
});
export const TABLES = [
  row("addresses", 1, 1, 0),
  row("campaigns", 3, 2, 1),
  row("customers", 3, 2, 1),
  row("emails", 2, 1, 1),
  row("phones", 4, 3, 1),
  row("touchpoints", 5, 3, 2),
];

/**
 * A MariaDB in `dir` holding the CRM as database `crm`, read by a `legacy` user with SELECT (and RELOAD,
 * for parallel lanes): the server and the source URL. The caller stops the server.
 */
export async function startLegacyCrm(dir: string): Promise<{ maria: RunningMariaDb; mysqlUrl: string }> {
  const maria = await startMariaDb(dir);
  const root = await maria.root();
  await root.query(
    `CREATE DATABASE crm CHARACTER SET utf8mb4; USE crm; ${SCHEMA("", mariaFk)}
     CREATE USER 'legacy'@'127.0.0.1' IDENTIFIED BY 'legacy-pass'; GRANT SELECT ON crm.* TO 'legacy'@'127.0.0.1';
     GRANT RELOAD ON *.* TO 'legacy'@'127.0.0.1';`,
  );
  await root.end();
  return { maria, mysqlUrl: `mysql://legacy:legacy-pass@127.0.0.1:${maria.port}/crm` };
}
