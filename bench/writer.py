#!/usr/bin/env python3
"""make bench's foreign writer: PUTs stored persons through another shikakud
process, RATE a second, on one keep-alive connection, until SECONDS have
passed; prints how many writes it made and how many answered 2xx.

    writer.py PORT RATE SECONDS PERSONS

Each write changes one random person's verified_at (so its ETag moves and
the measured server's person cache must drop it: a foreign write it learns
of from the store).  Paced by a deadline per write, not by sleeping a fixed
time after each: a slow answer does not lower the rate."""
import http.client
import json
import random
import sys
import time

port, rate, seconds, persons = (int(a) for a in sys.argv[1:5])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
start = time.monotonic()
sent = ok = 0
while True:
    due = start + sent / rate
    now = time.monotonic()
    if now - start >= seconds:
        break
    if due > now:
        time.sleep(due - now)
    i = random.randrange(persons)
    body = {"facility_id": "f%03d" % (i % 200), "birth_date": "1950-01-01",
            "insurer_number": "138057", "mynumber_card": "held",
            "insurance_registration": "registered",
            "verified_at": "2026-11-%02d" % (1 + sent % 28), "source": "card_reader"}
    c.request("PUT", "/v1/persons/p%07d" % i, body=json.dumps(body),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    sent += 1
    ok += 200 <= r.status < 300
print(json.dumps({"writes": sent, "ok": ok, "seconds": round(time.monotonic() - start, 2)}))
