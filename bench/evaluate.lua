-- wrk: POST /v1/eligibility:evaluate with the care-home resident of the README.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"as_of":"2025-06-01","person":{"birth_date":"1948-09-09",' ..
  '"insurer_number":"138057","mynumber_card":"held",' ..
  '"insurance_registration":"registered","care_needs":["elderly","pin_difficulty"],' ..
  '"setting":"care_facility","legacy_card_expiry":"2025-07-31"}}'
