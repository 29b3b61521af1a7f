//! Every row of some tables as text, on either backend, to check what
//! reaches the database.

use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};
use keymint::storage::{Backend, Db, DbConnection, StorageError};

use crate::helpers::TestApp;

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

impl TestApp {
    /// Every row of `tables`, one line each, every column included.
    pub async fn dump(&self, tables: &[&'static str]) -> String {
        dump_tables(&self.db, tables).await
    }
}

/// Every row of `tables` in `db`, one line each, every column included.
pub async fn dump_tables(db: &Db, tables: &[&'static str]) -> String {
    let tables: Vec<String> = tables.iter().map(|table| (*table).to_owned()).collect();
    dump_with(db, move |_| Ok(tables)).await
}

/// Every row of every table in `db`, migrations' bookkeeping included.
pub async fn dump_all(db: &Db) -> String {
    let backend = db.backend();
    dump_with(db, move |conn| {
        let query = match backend {
            Backend::Postgres => {
                "SELECT CAST(table_name AS TEXT) AS line FROM information_schema.tables \
                 WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            }
            Backend::Sqlite => "SELECT name AS line FROM sqlite_master WHERE type = 'table'",
        };
        load(conn, query)
    })
    .await
}

async fn dump_with(
    db: &Db,
    tables: impl FnOnce(&mut DbConnection) -> Result<Vec<String>, StorageError> + Send + 'static,
) -> String {
    let backend = db.backend();
    db.run(move |conn: &mut DbConnection| {
        let mut out = String::new();
        for table in tables(conn)? {
            let query = match backend {
                Backend::Postgres => {
                    format!("SELECT CAST(row_to_json(t) AS TEXT) AS line FROM {table} t")
                }
                // SQLite has no row-to-text; concatenate every column.
                Backend::Sqlite => sqlite_row_query(conn, &table)?,
            };
            for line in load(conn, &query)? {
                out.push_str(&line);
                out.push('\n');
            }
        }
        Ok::<_, StorageError>(out)
    })
    .await
    .unwrap()
}

fn load(conn: &mut DbConnection, query: &str) -> Result<Vec<String>, StorageError> {
    let lines: Vec<Line> = diesel::sql_query(query)
        .load(conn)
        .map_err(StorageError::from)?;
    Ok(lines.into_iter().map(|line| line.line).collect())
}

fn sqlite_row_query(conn: &mut DbConnection, table: &str) -> Result<String, StorageError> {
    let columns = load(
        conn,
        &format!("SELECT name AS line FROM pragma_table_info('{table}')"),
    )?;
    assert!(!columns.is_empty(), "table {table} exists");
    let concat = columns
        .iter()
        .map(|column| format!("coalesce(CAST({column} AS TEXT), '')"))
        .collect::<Vec<_>>()
        .join(" || ' ' || ");
    Ok(format!("SELECT {concat} AS line FROM {table}"))
}
