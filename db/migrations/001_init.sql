-- 001_init: persons, the insurer registry with its seed, prefectures.
-- The seed rows (47 prefectures, 47 協会けんぽ branches) are generated at
-- build time from data/*.csv and appended to this migration.

CREATE TABLE prefectures (
	code INTEGER PRIMARY KEY CHECK (code BETWEEN 1 AND 47),
	name_ja TEXT NOT NULL,
	name_en TEXT NOT NULL
);

-- A person's facts (SPEC §2) as typed columns, NULL = not known.  Dates
-- are ISO text; enums their JSON names; care_needs ';'-separated.
CREATE TABLE persons (
	person_id TEXT PRIMARY KEY NOT NULL,
	facility_id TEXT,
	display_name TEXT,
	birth_date TEXT,
	insurer_number TEXT,
	scheme TEXT,
	mynumber_card TEXT,
	insurance_registration TEXT,
	ecert_expiry TEXT,
	card_expiry TEXT,
	care_needs TEXT,
	setting TEXT,
	legacy_card_expiry TEXT,
	certificate_status TEXT,
	certificate_basis TEXT,
	certificate_applied_on TEXT,
	certificate_valid_until TEXT,
	verified_at TEXT,
	source TEXT,
	etag TEXT NOT NULL,
	updated_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE INDEX persons_by_facility ON persons (facility_id, person_id);

CREATE TABLE insurers (
	insurer_number TEXT PRIMARY KEY NOT NULL,
	name_ja TEXT,
	name_en TEXT,
	scheme TEXT,
	prefecture_code INTEGER,
	address TEXT,
	phone TEXT,
	url TEXT,
	updated_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE INDEX insurers_by_prefecture ON insurers (prefecture_code, insurer_number);
