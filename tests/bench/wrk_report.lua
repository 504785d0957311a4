-- wrk script of tests/bench/run.py: every answer but a 200 is a failure (redirects included),
-- and the figures are written as one JSON line at the end: requests, seconds, latency
-- percentiles in microseconds, failures by kind and the first statuses seen that were not 200.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  not_ok = 0
  statuses = ""
end

function response(status, headers, body)
  if status ~= 200 then
    not_ok = not_ok + 1
    if #statuses < 200 then
      statuses = statuses .. status .. " "
    end
  end
end

function done(summary, latency, requests)
  local not_ok_total = 0
  local seen = ""
  for _, thread in ipairs(threads) do
    not_ok_total = not_ok_total + thread:get("not_ok")
    seen = seen .. thread:get("statuses")
  end
  local errors = summary.errors
  io.write(string.format(
    '\nWRK_JSON {"requests": %d, "seconds": %.6f, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"not_200": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, "statuses": "%s"}\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    not_ok_total, errors.connect, errors.read, errors.write, errors.timeout, seen
  ))
end
