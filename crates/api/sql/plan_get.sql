SELECT plan_id, created_at, created_by, request, result, scenario_sites, scenario_measures
FROM plan WHERE plan_id = $1
