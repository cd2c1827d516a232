//! Small helpers over PostgreSQL connection strings.

/// The URL with any password replaced by `***`, for logs and error messages.
///
/// # Examples
/// ```
/// assert_eq!(funkplan_db::redact("postgresql://u:secret@h/db"), "postgresql://u:***@h/db");
/// assert_eq!(funkplan_db::redact("host=/tmp password=x dbname=d"), "host=/tmp password=*** dbname=d");
/// ```
#[must_use]
pub fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (auth, tail) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if let Some((userinfo, host)) = auth.rsplit_once('@') {
            if let Some((user, _)) = userinfo.split_once(':') {
                return format!("{scheme}://{user}:***@{host}{}", redact_query(tail));
            }
        }
        return format!("{scheme}://{auth}{}", redact_query(tail));
    }
    url.split_whitespace()
        .map(|kv| if kv.starts_with("password=") { "password=***".to_owned() } else { kv.to_owned() })
        .collect::<Vec<_>>()
        .join(" ")
}

fn redact_query(tail: &str) -> String {
    match tail.split_once('?') {
        None => tail.to_owned(),
        Some((path, q)) => {
            let q: Vec<String> = q
                .split('&')
                .map(|kv| if kv.starts_with("password=") { "password=***".to_owned() } else { kv.to_owned() })
                .collect();
            format!("{path}?{}", q.join("&"))
        }
    }
}

/// The same connection string pointing at another database.
///
/// # Examples
/// ```
/// use funkplan_db::with_dbname;
/// assert_eq!(with_dbname("postgresql://u@/postgres?host=/run/pg", "t1"), "postgresql://u@/t1?host=/run/pg");
/// assert_eq!(with_dbname("postgres://u:p@h:5432/a", "b"), "postgres://u:p@h:5432/b");
/// assert_eq!(with_dbname("postgres://u@h", "b"), "postgres://u@h/b");
/// assert_eq!(with_dbname("host=/tmp dbname=a user=u", "b"), "host=/tmp user=u dbname=b");
/// ```
#[must_use]
pub fn with_dbname(url: &str, db: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (before_q, q) = match rest.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (rest, None),
        };
        let authority = before_q.split_once('/').map_or(before_q, |(a, _)| a);
        let mut out = format!("{scheme}://{authority}/{db}");
        if let Some(q) = q {
            out.push('?');
            out.push_str(q);
        }
        return out;
    }
    let mut parts: Vec<&str> = url.split_whitespace().filter(|kv| !kv.starts_with("dbname=")).collect();
    let dbkv = format!("dbname={db}");
    parts.push(&dbkv);
    parts.join(" ")
}
