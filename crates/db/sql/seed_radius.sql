INSERT INTO coverage_radius (technology, setting, radius_m, note)
VALUES ($1, $2, $3, $4)
ON CONFLICT (technology, setting) DO UPDATE SET radius_m = EXCLUDED.radius_m, note = EXCLUDED.note
