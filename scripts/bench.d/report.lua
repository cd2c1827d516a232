-- wrk script: print one JSON line at the end with requests/s and latency
-- percentiles (microseconds), so that bench.py reads figures, not wrk's human
-- summary. No response() hook on purpose: it makes wrk copy every body into
-- Lua, which would slow the load generator down on 2 MB responses. Status
-- errors (non-2xx/3xx) and socket errors come from wrk's own summary; the
-- bytes per response tell a 304 from a 200.
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        '\nBENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
        '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,' ..
        '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d}\n',
        summary.requests, summary.duration, summary.bytes,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
        e.connect, e.read, e.write, e.status, e.timeout))
end
