-- wrk: GET /v1/persons/{random id}/eligibility over the benchmark's ids.
-- Each wrk thread formats its random requests in init, which wrk runs
-- before its clock starts: formatting one in Lua per request cost the
-- client ~4 µs a request, taken from the same two cores as the server's
-- (nginx's run needs no script at all).  BENCH_PERSONS ids, p0000000 on.
local n = tonumber(os.getenv("BENCH_PERSONS") or "1000000")
local count = 262144 -- per thread: more than a 10 s run sends
local reqs = {}
local i = 0
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("seed", os.time() * 64 + threads)
end

function init(args)
  math.randomseed(seed or os.time())
  for k = 1, count do
    local id = string.format("p%07d", math.random(0, n - 1))
    reqs[k] = wrk.format("GET", "/v1/persons/" .. id .. "/eligibility")
  end
end

function request()
  i = i % count + 1
  return reqs[i]
end
