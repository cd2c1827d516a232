-- Upsert by AGS; a row that would not change is left alone.
WITH up AS (
    INSERT INTO municipality AS m (ags, name, kind, population, households, geom, synthetic)
    SELECT ags, name, kind, population, households, geom, synthetic FROM ingest_muni_stage
    ON CONFLICT (ags) DO UPDATE SET
        name = EXCLUDED.name, kind = EXCLUDED.kind, population = EXCLUDED.population,
        households = EXCLUDED.households, geom = EXCLUDED.geom, synthetic = EXCLUDED.synthetic,
        updated_at = now()
    WHERE (m.name, m.kind, m.population, m.households, m.geom, m.synthetic)
        IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.kind, EXCLUDED.population, EXCLUDED.households, EXCLUDED.geom, EXCLUDED.synthetic)
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated FROM up
