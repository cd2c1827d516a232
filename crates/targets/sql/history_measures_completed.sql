-- Replays measure completions: for every month from $3 to the month of $4,
-- the completed measures of kinds $1 (completed after $2, if given) up to
-- the month's last day, or up to $4 for the running month.
SELECT m::date AS month,
       target_measures_completed($1::text[], $2::date,
                                 least((m + interval '1 month' - interval '1 day')::date, $4::date)) AS value
FROM generate_series($3::date, date_trunc('month', $4::date)::date, interval '1 month') AS m
ORDER BY 1
