-- The coverage model: radii per technology and setting, and the urban rule.
SELECT (SELECT radius_m FROM coverage_radius WHERE technology = 'lte' AND setting = 'rural') AS lte_rural,
       (SELECT radius_m FROM coverage_radius WHERE technology = 'lte' AND setting = 'urban') AS lte_urban,
       (SELECT radius_m FROM coverage_radius WHERE technology = '5g' AND setting = 'rural') AS nr_rural,
       (SELECT radius_m FROM coverage_radius WHERE technology = '5g' AND setting = 'urban') AS nr_urban,
       (SELECT value FROM coverage_param WHERE key = 'urban_households_per_km2') AS urban_households_per_km2,
       (SELECT value FROM coverage_param WHERE key = 'urban_density_radius_m') AS urban_density_radius_m
