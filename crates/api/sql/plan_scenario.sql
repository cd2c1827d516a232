UPDATE plan SET scenario_sites = $2, scenario_measures = $3 WHERE plan_id = $1
