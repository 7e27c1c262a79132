-- wrk: GET /v1/persons/{random id}/eligibility over the benchmark's ids.
local n = tonumber(os.getenv("BENCH_PERSONS") or "1000000")
math.randomseed(os.time())
request = function()
  local id = string.format("p%07d", math.random(0, n - 1))
  return wrk.format("GET", "/v1/persons/" .. id .. "/eligibility")
end
