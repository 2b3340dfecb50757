//! Reads what the schema is: which tables exist, which migrations are recorded, and how an
//! existing table differs from the one a migration would create. Read-only on every backend,
//! so a SELECT-only user can run it.

use std::collections::{BTreeMap, BTreeSet};

use migration::{ColumnKind, ColumnSpec, Key, Literal, Migration, TableSpec, tracking_table_name};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, Value};

/// The schema as found: the tables and the records that matter to a list of migrations.
#[derive(Debug, Clone, Default)]
pub(crate) struct State {
    /// Whether the tracking table exists.
    pub tracked: bool,
    /// The versions recorded as applied.
    pub applied: BTreeSet<String>,
    /// Which of the migrations' tables exist.
    pub existing: BTreeSet<String>,
    /// How each existing table of a pending migration differs from its spec.
    pub checks: BTreeMap<String, Check>,
}

/// How an existing table differs from the one a migration would create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Check {
    /// Differences that would break the toolkit's reads or writes.
    pub fatal: Vec<String>,
    /// Differences that do not (defaults the toolkit never relies on).
    pub minor: Vec<String>,
}

impl Check {
    /// Whether the table is exactly what the migration would create.
    pub fn exact(&self) -> bool {
        self.fatal.is_empty() && self.minor.is_empty()
    }

    /// Every difference, the breaking ones first.
    pub fn all(&self) -> Vec<String> {
        self.fatal.iter().chain(&self.minor).cloned().collect()
    }
}

/// Reads the state of `migrations` on `db`.
pub(crate) async fn read_state<C: ConnectionTrait>(
    db: &C,
    migrations: &[Box<dyn Migration>],
) -> Result<State, DbErr> {
    let backend = db.get_database_backend();
    let tables = list_tables(db).await?;
    let tracking = tracking_table_name();
    let tracked = tables.contains(&tracking);
    let applied = if tracked {
        db.query_all_raw(Statement::from_string(
            backend,
            format!("SELECT version FROM {}", quote_ident(backend, &tracking)),
        ))
        .await?
        .iter()
        .map(|row| row.try_get_by_index::<String>(0))
        .collect::<Result<_, _>>()?
    } else {
        BTreeSet::new()
    };
    let mut state = State {
        tracked,
        applied,
        ..State::default()
    };
    for m in migrations {
        for spec in m.creates() {
            if !tables.contains(spec.name) {
                continue;
            }
            state.existing.insert(spec.name.to_owned());
            if !state.applied.contains(m.name()) {
                let found = describe(db, spec.name).await?;
                state
                    .checks
                    .insert(spec.name.to_owned(), compare(backend, spec, &found));
            }
        }
    }
    Ok(state)
}

/// `name` quoted as an identifier of `backend`.
pub(crate) fn quote_ident(backend: DbBackend, name: &str) -> String {
    match backend {
        DbBackend::MySql => format!("`{}`", name.replace('`', "``")),
        _ => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// Names of every table (and view) of the current database or schema.
async fn list_tables<C: ConnectionTrait>(db: &C) -> Result<BTreeSet<String>, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::MySql => {
            "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = DATABASE()"
        }
        DbBackend::Postgres => {
            "SELECT c.relname::text FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
        }
        DbBackend::Sqlite => "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')",
        other => return Err(unsupported(other)),
    };
    db.query_all_raw(Statement::from_string(backend, sql))
        .await?
        .iter()
        .map(|row| row.try_get_by_index::<String>(0))
        .collect()
}

/// One column as the database describes it.
#[derive(Debug, Clone)]
struct FoundColumn {
    name: String,
    /// The type as the backend names it, lower case (`varchar`, `character varying`, …).
    ty: String,
    /// The declared length of a character column.
    len: Option<i64>,
    not_null: bool,
    /// The default as the catalogue spells it (`18`, `'0'::real`, `NULL`, …).
    default: Option<String>,
    /// Whether the database numbers it (AUTO_INCREMENT, a sequence or identity, a rowid).
    auto: bool,
}

/// A table as the database describes it.
#[derive(Debug, Clone, Default)]
struct Found {
    columns: Vec<FoundColumn>,
    /// Columns of the primary key, in order.
    primary: Vec<String>,
    /// Columns of each other unique key, in order.
    unique: Vec<Vec<String>>,
}

fn text(row: &QueryResult, col: &str) -> Result<String, DbErr> {
    row.try_get::<Option<String>>("", col)
        .map(Option::unwrap_or_default)
}

fn bind(backend: DbBackend, sql: &str, table: &str) -> Statement {
    Statement::from_sql_and_values(backend, sql, [Value::from(table.to_owned())])
}

/// Describes the existing table `table`.
async fn describe<C: ConnectionTrait>(db: &C, table: &str) -> Result<Found, DbErr> {
    match db.get_database_backend() {
        DbBackend::MySql => describe_mysql(db, table).await,
        DbBackend::Postgres => describe_postgres(db, table).await,
        DbBackend::Sqlite => describe_sqlite(db, table).await,
        other => Err(unsupported(other)),
    }
}

fn unsupported(backend: DbBackend) -> DbErr {
    DbErr::BackendNotSupported {
        db: backend.as_str(),
        ctx: "schema inspection",
    }
}

async fn describe_mysql<C: ConnectionTrait>(db: &C, table: &str) -> Result<Found, DbErr> {
    let b = DbBackend::MySql;
    let mut found = Found::default();
    for row in db
        .query_all_raw(bind(
            b,
            "SELECT CAST(COLUMN_NAME AS CHAR) AS name, CAST(DATA_TYPE AS CHAR) AS ty, \
             CAST(CHARACTER_MAXIMUM_LENGTH AS SIGNED) AS len, CAST(IS_NULLABLE AS CHAR) AS nullable, \
             CAST(COLUMN_DEFAULT AS CHAR) AS dflt, CAST(EXTRA AS CHAR) AS extra \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? \
             ORDER BY ORDINAL_POSITION",
            table,
        ))
        .await?
    {
        let default = row.try_get::<Option<String>>("", "dflt")?;
        found.columns.push(FoundColumn {
            name: text(&row, "name")?,
            ty: text(&row, "ty")?.to_ascii_lowercase(),
            len: row.try_get("", "len")?,
            not_null: text(&row, "nullable")? == "NO",
            // MariaDB spells "no default" of a nullable column as the string NULL.
            default: default.filter(|d| d != "NULL"),
            auto: text(&row, "extra")?
                .to_ascii_lowercase()
                .contains("auto_increment"),
        });
    }
    for row in db
        .query_all_raw(bind(
            b,
            "SELECT CAST(INDEX_NAME AS CHAR) AS idx, \
             CAST(GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX SEPARATOR ',') AS CHAR) AS cols \
             FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND NON_UNIQUE = 0 \
             GROUP BY INDEX_NAME",
            table,
        ))
        .await?
    {
        let cols = split(&text(&row, "cols")?);
        if text(&row, "idx")? == "PRIMARY" {
            found.primary = cols;
        } else {
            found.unique.push(cols);
        }
    }
    Ok(found)
}

async fn describe_postgres<C: ConnectionTrait>(db: &C, table: &str) -> Result<Found, DbErr> {
    let b = DbBackend::Postgres;
    let mut found = Found::default();
    for row in db
        .query_all_raw(bind(
            b,
            "SELECT column_name::text AS name, data_type::text AS ty, \
             character_maximum_length::int8 AS len, is_nullable::text AS nullable, \
             column_default::text AS dflt, is_identity::text AS ident \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name = $1 ORDER BY ordinal_position",
            table,
        ))
        .await?
    {
        let default = row.try_get::<Option<String>>("", "dflt")?;
        let sequence = default
            .as_deref()
            .is_some_and(|d| d.starts_with("nextval("));
        found.columns.push(FoundColumn {
            name: text(&row, "name")?,
            ty: text(&row, "ty")?.to_ascii_lowercase(),
            len: row.try_get("", "len")?,
            not_null: text(&row, "nullable")? == "NO",
            auto: sequence || text(&row, "ident")? == "YES",
            default: default.filter(|_| !sequence),
        });
    }
    for row in db
        .query_all_raw(bind(
            b,
            "SELECT i.indisprimary AS is_primary, array_to_string(ARRAY( \
               SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(num, pos) \
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num \
               ORDER BY k.pos), ',') AS cols \
             FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relname = $1 AND i.indisunique",
            table,
        ))
        .await?
    {
        let cols = split(&text(&row, "cols")?);
        if row.try_get::<bool>("", "is_primary")? {
            found.primary = cols;
        } else {
            found.unique.push(cols);
        }
    }
    Ok(found)
}

async fn describe_sqlite<C: ConnectionTrait>(db: &C, table: &str) -> Result<Found, DbErr> {
    let b = DbBackend::Sqlite;
    let mut found = Found::default();
    let mut primary: Vec<(i64, String)> = Vec::new();
    for row in db
        .query_all_raw(bind(
            b,
            "SELECT name, type AS ty, \"notnull\" AS nn, dflt_value AS dflt, pk \
             FROM pragma_table_info(?)",
            table,
        ))
        .await?
    {
        let name = text(&row, "name")?;
        let pk: i64 = row.try_get("", "pk")?;
        if pk > 0 {
            primary.push((pk, name.clone()));
        }
        found.columns.push(FoundColumn {
            name,
            ty: text(&row, "ty")?.to_ascii_lowercase(),
            len: None,
            not_null: row.try_get::<i64>("", "nn")? != 0,
            default: row.try_get("", "dflt")?,
            auto: false,
        });
    }
    primary.sort();
    found.primary = primary.into_iter().map(|(_, name)| name).collect();
    // Only a column declared exactly `INTEGER PRIMARY KEY` is the rowid, numbered by SQLite.
    if let [only] = found.primary.as_slice() {
        for column in &mut found.columns {
            if &column.name == only && column.ty == "integer" {
                column.auto = true;
            }
        }
    }
    let indexes = db
        .query_all_raw(bind(
            b,
            "SELECT name, \"unique\" AS uq, origin FROM pragma_index_list(?)",
            table,
        ))
        .await?;
    for row in indexes {
        if row.try_get::<i64>("", "uq")? == 0 || text(&row, "origin")? == "pk" {
            continue;
        }
        let index = text(&row, "name")?;
        let cols = db
            .query_all_raw(bind(
                b,
                "SELECT name FROM pragma_index_info(?) ORDER BY seqno",
                &index,
            ))
            .await?
            .iter()
            .map(|r| text(r, "name"))
            .collect::<Result<_, _>>()?;
        found.unique.push(cols);
    }
    Ok(found)
}

fn split(cols: &str) -> Vec<String> {
    cols.split(',')
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The SQLite type affinity of a declared type (https://sqlite.org/datatype3.html, 3.1).
fn sqlite_affinity(declared: &str) -> &'static str {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        "integer"
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        "text"
    } else if t.contains("BLOB") || t.is_empty() {
        "blob"
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        "real"
    } else {
        "numeric"
    }
}

/// How `kind` is named on `backend`, in the words of [`FoundColumn::ty`].
fn expected_type(backend: DbBackend, kind: ColumnKind) -> String {
    match backend {
        DbBackend::MySql => match kind {
            ColumnKind::Integer => "int".into(),
            ColumnKind::BigInteger => "bigint".into(),
            ColumnKind::Float => "float".into(),
            ColumnKind::Varchar(n) => format!("varchar({n})"),
            ColumnKind::Text => "mediumtext".into(),
            ColumnKind::Blob => "blob".into(),
        },
        DbBackend::Postgres => match kind {
            ColumnKind::Integer => "integer".into(),
            ColumnKind::BigInteger => "bigint".into(),
            ColumnKind::Float => "real".into(),
            ColumnKind::Varchar(n) => format!("character varying({n})"),
            ColumnKind::Text => "text".into(),
            ColumnKind::Blob => "bytea".into(),
        },
        // SQLite stores by affinity, whatever the declared name.
        _ => match kind {
            ColumnKind::Integer | ColumnKind::BigInteger => "integer".into(),
            ColumnKind::Float => "real".into(),
            ColumnKind::Varchar(_) | ColumnKind::Text => "text".into(),
            ColumnKind::Blob => "blob".into(),
        },
    }
}

/// The type of `found` in the words of [`expected_type`].
fn found_type(backend: DbBackend, found: &FoundColumn) -> String {
    match (backend, found.len) {
        (DbBackend::Sqlite, _) => sqlite_affinity(&found.ty).to_owned(),
        // Only character types declare a length; MySQL also reports one for TEXT types.
        (_, Some(len)) if found.ty.contains("char") => format!("{}({len})", found.ty),
        _ => found.ty.clone(),
    }
}

/// A default as the catalogue spells it, reduced to its value: `('0'::real)` → `0`.
fn default_value(spelled: &str) -> String {
    let mut v = spelled.trim();
    loop {
        let before = v;
        if let Some(inner) = v.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
            v = inner.trim();
        }
        // PostgreSQL's casts: `'0'::real`, `18::integer`.
        if let Some((value, _cast)) = v.rsplit_once("::")
            && !value.is_empty()
        {
            v = value.trim();
        }
        if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
            v = &v[1..v.len() - 1];
        }
        if v == before {
            return v.to_owned();
        }
    }
}

fn literal_matches(expected: &Literal, found: &str) -> bool {
    let value = default_value(found);
    match expected {
        Literal::Int(n) => value.parse::<f64>().is_ok_and(|v| v == *n as f64),
        Literal::Float(x) => value.parse::<f64>().is_ok_and(|v| v == *x),
        Literal::Text(s) => value == *s,
    }
}

fn show_literal(value: &Literal) -> String {
    match value {
        Literal::Int(n) => n.to_string(),
        Literal::Float(x) => x.to_string(),
        Literal::Text(s) => format!("'{s}'"),
    }
}

/// How `found` differs from `spec` on `backend`.
fn compare(backend: DbBackend, spec: &TableSpec, found: &Found) -> Check {
    let mut check = Check::default();
    let fatal = &mut check.fatal;
    for want in spec.columns {
        let Some(have) = found.columns.iter().find(|c| c.name == want.name) else {
            fatal.push(format!("it has no column `{}`", want.name));
            continue;
        };
        let (expected, actual) = (expected_type(backend, want.kind), found_type(backend, have));
        if expected != actual {
            fatal.push(format!("`{}` is {actual}, not {expected}", want.name));
        }
        compare_key(want, have, found, fatal);
        // A primary key refuses NULL whatever it declares.
        if want.key != Key::AutoIncrement && want.key != Key::Primary {
            match (want.not_null, have.not_null) {
                (true, false) => fatal.push(format!("`{}` allows NULL", want.name)),
                (false, true) => fatal.push(format!("`{}` refuses NULL", want.name)),
                _ => {}
            }
        }
        if want.key != Key::AutoIncrement {
            match (&want.default, &have.default) {
                (Some(w), None) => check.minor.push(format!(
                    "`{}` has no default (cli's is {})",
                    want.name,
                    show_literal(w)
                )),
                (Some(w), Some(h)) if !literal_matches(w, h) => check.minor.push(format!(
                    "`{}` defaults to {} (cli's is {})",
                    want.name,
                    default_value(h),
                    show_literal(w)
                )),
                (None, Some(h)) => check.minor.push(format!(
                    "`{}` defaults to {} (cli's has no default)",
                    want.name,
                    default_value(h)
                )),
                _ => {}
            }
        }
    }
    for have in &found.columns {
        if !spec.columns.iter().any(|c| c.name == have.name) {
            check.fatal.push(format!(
                "it has a column `{}` that cli does not know",
                have.name
            ));
        }
    }
    for key in &found.unique {
        let known = matches!(key.as_slice(), [only] if spec
            .columns
            .iter()
            .any(|c| c.name == *only && c.key == Key::Unique));
        if !known {
            check
                .fatal
                .push(format!("it has a unique key on ({})", key.join(", ")));
        }
    }
    check
}

/// The key part of [`compare`] for one column.
fn compare_key(want: &ColumnSpec, have: &FoundColumn, found: &Found, fatal: &mut Vec<String>) {
    let alone = |cols: &[String]| matches!(cols, [only] if *only == want.name);
    match want.key {
        Key::AutoIncrement if !(alone(&found.primary) && have.auto) => fatal.push(format!(
            "`{}` is not an auto-increment primary key",
            want.name
        )),
        Key::Primary if !alone(&found.primary) => {
            fatal.push(format!("`{}` is not the primary key", want.name));
        }
        Key::Unique if !found.unique.iter().any(|k| alone(k)) => {
            fatal.push(format!("`{}` has no unique key", want.name));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_compared_by_value() {
        assert_eq!(default_value("('0'::real)"), "0");
        assert_eq!(default_value("18"), "18");
        assert_eq!(default_value("'abc'::character varying"), "abc");
        assert!(literal_matches(&Literal::Float(0.0), "0.0"));
        assert!(literal_matches(&Literal::Int(18), "'18'"));
        assert!(!literal_matches(&Literal::Int(18), "20"));
    }

    #[test]
    fn sqlite_types_compare_by_affinity() {
        assert_eq!(sqlite_affinity("VARCHAR(32)"), "text");
        assert_eq!(sqlite_affinity("float"), "real");
        assert_eq!(sqlite_affinity("INTEGER"), "integer");
    }
}
