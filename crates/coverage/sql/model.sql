-- The coverage model: radii per technology and setting, and the urban rule.
SELECT (SELECT radius_m FROM coverage_radius WHERE technology = 'lte' AND setting = 'rural'),
       (SELECT radius_m FROM coverage_radius WHERE technology = 'lte' AND setting = 'urban'),
       (SELECT radius_m FROM coverage_radius WHERE technology = '5g' AND setting = 'rural'),
       (SELECT radius_m FROM coverage_radius WHERE technology = '5g' AND setting = 'urban'),
       (SELECT value FROM coverage_param WHERE key = 'urban_households_per_km2'),
       (SELECT value FROM coverage_param WHERE key = 'urban_density_radius_m')
