//! Hand-written aggregate SQL for both backends: written with `?` placeholders, numbered
//! `$1, $2, …` for PostgreSQL.

use super::DbConnection;

pub fn placeholders(conn: &DbConnection, sql: &str) -> String {
    match conn {
        DbConnection::Sqlite(_) => sql.to_string(),
        DbConnection::Postgres(_) => {
            let mut out = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for ch in sql.chars() {
                if ch == '?' {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                } else {
                    out.push(ch);
                }
            }
            out
        }
    }
}
