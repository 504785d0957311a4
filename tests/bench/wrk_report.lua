-- wrk script of tests/bench/run.py: the figures as one JSON line at the end: requests, seconds,
-- latency percentiles in microseconds and failures by kind, answers outside 2xx/3xx among them
-- (wrk's own count).
--
-- There is no response() function on purpose: with one, wrk gathers every answer's body and
-- headers and hands them to Lua, on the same cores as the server, which costs it more than the
-- server spends on a large page (a 240 kB JSON read half as fast). Redirects and any other
-- answer but 200 are caught before the load, by the runner's warm-up requests.

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '\nWRK_JSON {"requests": %d, "seconds": %.6f, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"status": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d}\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    errors.status, errors.connect, errors.read, errors.write, errors.timeout
  ))
end
