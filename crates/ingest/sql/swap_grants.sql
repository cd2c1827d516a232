-- The privileges granted on `table` to others than its owner (the owner's
-- own come with ownership), as GRANT parts: privilege, grantee, grant option.
SELECT a.privilege_type AS privilege,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee,
       a.is_grantable AS grantable
FROM pg_class t, aclexplode(t.relacl) a
WHERE t.oid = $1::text::regclass AND a.grantee <> t.relowner
ORDER BY 2, 1
