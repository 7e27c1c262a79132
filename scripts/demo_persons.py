#!/usr/bin/env python3
"""Writes the demo residents of `make run` as NDJSON on stdout.

Fictional people in two facilities (a care home and a disability facility)
plus a few living at home, chosen so that the worklist shows every
entitlement and every reason a clerk meets.  Dates are relative to today in
Asia/Tokyo, so deadlines and staleness look the same whenever the demo runs.
The late-elderly provisional operation ended on 2026-07-31 under the default
parameters: to see `provisional`, ask with ?as_of=2026-06-01.
"""
import datetime
import json
import sys

TOKYO = datetime.timezone(datetime.timedelta(hours=9))
today = datetime.datetime.now(TOKYO).date()


def days(n):
    return (today + datetime.timedelta(days=n)).isoformat()


def born(years, extra_days=0):
    """A birth date `years` years before today (minus extra_days)."""
    try:
        d = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        d = today.replace(year=today.year - years, day=28)
    return (d - datetime.timedelta(days=extra_days)).isoformat()


CARE = "demo-care-home"
DISAB = "demo-disability"
checked = {"verified_at": days(-3), "source": "card_reader"}

people = [
    # care home: late-elderly members (39 + Tokyo)
    {"person_id": "demo-001", "facility_id": CARE, "display_name": "山田 花子",
     "birth_date": born(91), "insurer_number": "39132014", "mynumber_card": "held",
     "insurance_registration": "registered", "care_needs": ["elderly", "dementia"],
     "setting": "care_facility", **checked},  # 85+: ex officio
    {"person_id": "demo-002", "facility_id": CARE, "display_name": "佐藤 一郎",
     "birth_date": born(79), "insurer_number": "39132014", "mynumber_card": "held",
     "insurance_registration": "registered", "care_needs": ["elderly", "pin_difficulty"],
     "setting": "care_facility", **checked},  # must apply now
    {"person_id": "demo-003", "facility_id": CARE, "display_name": "鈴木 和子",
     "birth_date": born(82), "insurer_number": "39132014", "mynumber_card": "held",
     "insurance_registration": "registered", "care_needs": ["dementia"],
     "setting": "care_facility",
     "certificate": {"status": "applied", "applied_on": days(-200)}, **checked},
    {"person_id": "demo-004", "facility_id": CARE, "display_name": "高橋 次郎",
     "birth_date": born(77), "insurer_number": "39132014", "mynumber_card": "none",
     "setting": "care_facility", **checked},  # no card: ex officio
    {"person_id": "demo-005", "facility_id": CARE, "display_name": "田中 節子",
     "birth_date": born(80), "insurer_number": "39132014", "mynumber_card": "held",
     "insurance_registration": "unknown", "care_needs": ["elderly"],
     "setting": "care_facility", **checked},  # undetermined after the age rule
    {"person_id": "demo-006", "facility_id": CARE, "display_name": "伊藤 清",
     "insurer_number": "39132014", "mynumber_card": "held",
     "insurance_registration": "registered", "setting": "care_facility",
     **checked},  # no birth date: undetermined (birth_date)
    {"person_id": "demo-007", "facility_id": CARE, "display_name": "渡辺 光子",
     "birth_date": born(76), "insurer_number": "39132014", "mynumber_card": "held",
     "insurance_registration": "registered", "care_needs": ["elderly"],
     "setting": "care_facility", "verified_at": days(-120),
     "source": "self_report"},  # stale
    # disability facility: NHI and employee insurance
    {"person_id": "demo-101", "facility_id": DISAB, "display_name": "中村 健",
     "birth_date": born(45), "insurer_number": "138057", "mynumber_card": "held",
     "insurance_registration": "registered", "care_needs": ["disability", "face_auth_difficulty"],
     "setting": "disability_facility", "legacy_card_expiry": days(40), **checked},
    {"person_id": "demo-102", "facility_id": DISAB, "display_name": "小林 愛",
     "birth_date": born(33), "insurer_number": "01130012", "mynumber_card": "lost",
     "insurance_registration": "registered", "care_needs": ["disability"],
     "setting": "disability_facility", **checked},  # card lost: apply
    {"person_id": "demo-103", "facility_id": DISAB, "display_name": "加藤 誠",
     "birth_date": born(52), "insurer_number": "138057", "mynumber_card": "held",
     "insurance_registration": "registered", "ecert_expiry": days(-200),
     "setting": "disability_facility", **checked},  # e-certificate lapsed
    {"person_id": "demo-104", "facility_id": DISAB, "display_name": "吉田 真由美",
     "birth_date": born(38), "insurer_number": "138057", "mynumber_card": "held",
     "insurance_registration": "registered", "care_needs": ["illness"],
     "setting": "disability_facility",
     "certificate": {"status": "issued", "basis": "application",
                     "valid_until": days(300)}, **checked},
    {"person_id": "demo-105", "facility_id": DISAB, "display_name": "山本 修",
     "birth_date": born(29), "insurer_number": "01130012", "mynumber_card": "held",
     "insurance_registration": "cancelled", "setting": "disability_facility",
     **checked},
    # at home (no facility)
    {"person_id": "demo-201", "display_name": "松本 大輔", "birth_date": born(48),
     "insurer_number": "138057", "mynumber_card": "held",
     "insurance_registration": "registered", "setting": "home", **checked},  # not entitled
    {"person_id": "demo-202", "display_name": "井上 さくら", "birth_date": born(9),
     "insurer_number": "01130012", "mynumber_card": "held",
     "insurance_registration": "registered", "care_needs": ["child"],
     "setting": "childrens_facility", **checked},  # child
    {"person_id": "demo-203", "display_name": "木村 勝", "birth_date": born(68),
     "insurer_number": "138057", "mynumber_card": "held",
     "insurance_registration": "registered", "care_needs": ["disability"],
     "setting": "home", "ecert_expiry": days(-20), "legacy_card_expiry": days(20),
     **checked},  # in grace, deadline near, care manager
]

for p in people:
    sys.stdout.write(json.dumps(p, ensure_ascii=False) + "\n")
