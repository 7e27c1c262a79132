#!/usr/bin/env python3
"""Writes N fictional persons as NDJSON (ids p0000000...), varied facts."""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
cards = ["held", "held", "held", "none", "lost"]
regs = ["registered", "registered", "unregistered", "unknown"]
needs = ['[]', '["elderly"]', '["dementia","pin_difficulty"]', '["disability"]']
settings = ["care_facility", "home", "disability_facility", "home"]
insurers = ["138057", "39132014", "01130012", "01040013"]
out = sys.stdout
w = out.write
for i in range(n):
    y = 1930 + i % 80
    w('{"person_id":"p%07d","facility_id":"f%03d","birth_date":"%d-%02d-%02d",'
      '"insurer_number":"%s","mynumber_card":"%s","insurance_registration":"%s",'
      '"care_needs":%s,"setting":"%s","verified_at":"2026-11-01","source":"card_reader"}\n'
      % (i, i % 200, y, 1 + i % 12, 1 + i % 28, insurers[i % 4], cards[i % 5],
         regs[i % 4], needs[i % 4], settings[i % 4]))
