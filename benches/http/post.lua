-- wrk script of benches/http.sh: POSTs BODY (a GraphQL request as JSON) to the URL, with the
-- tokens of TOKENS_FILE (one per line) in rotation as bearer tokens, and prints one result
-- line: requests/s, p50 and p99 in ms, and how many answers were not 200.
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do
  if line ~= "" then tokens[#tokens + 1] = line end
end
local body = os.getenv("BODY")
local next_token = 0

function setup(thread)
  thread:set("offset", math.random(#tokens))
end

function init(args)
  next_token = offset or 0
end

function request()
  next_token = next_token % #tokens + 1
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[next_token],
  }, body)
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("RESULT %.1f %.3f %.3f %d %d\n",
    summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end
