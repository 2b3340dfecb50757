//! Opens a database from a URL: checked before anything is sent, one real login that fails
//! fast and clearly, then a small pool. No connection is ever opened that does not log in
//! (MariaDB counts bare TCP probes as connection errors and blocks hosts over them).
//!
//! A server URL may list several hosts (`mysql://u:p@h1:3306,h2:3306/db`, the settings'
//! `hosts`): the first one that logs in and, when it is a Galera node, is part of the
//! cluster's primary component (`wsrep_ready` is `ON`) is used, each host within the connect
//! timeout. [`HostChoice`] says which one and why.

use std::str::FromStr;
use std::time::Duration;

use sea_orm::sqlx::{self, ConnectOptions as _, Connection as _};
use sea_orm::{DatabaseConnection, SqlxMySqlConnector, SqlxPostgresConnector, SqlxSqliteConnector};
use settings::{Dialect, SecretUrl, Settings};

use crate::error::{Error, Result};

pub use settings::DEFAULT_DATABASE_URL;

/// Connections a command may hold at once.
const POOL_SIZE: u32 = 4;

/// What a command will do with the database, which decides how a SQLite file is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Only reads: a SQLite file is opened read-only; a missing one reads as empty.
    Read,
    /// Writes rows or drops tables: a missing SQLite file is not created (it reads as an
    /// empty database, so the command fails or finds nothing to do, and leaves no file).
    Write,
    /// Creates tables: a missing SQLite file is created (unless the URL says `mode=ro`/`rw`).
    Create,
}

/// Where and how to connect.
#[derive(Clone, Debug)]
pub struct ConnectSettings {
    /// A `mysql://`, `mariadb://`, `postgres://` or `sqlite:` URL.
    pub url: SecretUrl,
    /// Upper bound on reaching the server and logging in.
    pub connect_timeout: Duration,
    /// SQLite: how long a write waits for another process's lock before failing.
    pub busy_timeout: Duration,
    /// What the command will do.
    pub access: Access,
}

impl ConnectSettings {
    /// Settings for `url` with the default timeouts, for a command that writes.
    pub fn new(url: impl Into<String>) -> Self {
        ConnectSettings {
            url: SecretUrl::new(url),
            connect_timeout: Duration::from_secs(settings::DEFAULT_CONNECT_TIMEOUT),
            busy_timeout: Duration::from_secs(settings::DEFAULT_BUSY_TIMEOUT),
            access: Access::Write,
        }
    }

    /// The settings in force, for a command with `access`.
    pub fn from_settings(settings: &Settings, access: Access) -> Self {
        ConnectSettings {
            url: settings.database.url.value.clone(),
            connect_timeout: Duration::from_secs(settings.connect_timeout.value),
            busy_timeout: Duration::from_secs(settings.busy_timeout.value),
            access,
        }
    }
}

/// SeaORM's name for a dialect.
pub fn backend_of(dialect: Dialect) -> sea_orm::DbBackend {
    match dialect {
        Dialect::MySql => sea_orm::DbBackend::MySql,
        Dialect::Postgres => sea_orm::DbBackend::Postgres,
        Dialect::Sqlite => sea_orm::DbBackend::Sqlite,
    }
}

/// A database URL that has been checked: its dialect is known and it can be shown safely.
#[derive(Debug, Clone)]
struct CheckedUrl {
    /// What is handed to the driver (`mariadb://` rewritten to `mysql://`).
    driver_url: String,
    dialect: Dialect,
    /// `host:port` for servers, the file for SQLite: what messages name.
    target: String,
}

/// Checks `url`: one [`CheckedUrl`] per host, in the order given.
fn check_urls(url: &SecretUrl) -> Result<Vec<CheckedUrl>> {
    let Some(list) = host_list(url.expose()) else {
        return Ok(vec![check_url(url.expose(), url)?]);
    };
    if list.hosts.split(',').any(|h| h.trim().is_empty()) {
        return Err(Error::InvalidUrl {
            url: url.redacted(),
            reason: "the host list has an empty entry (two commas in a row, or one at an end)"
                .to_owned(),
        });
    }
    list.urls().iter().map(|one| check_url(one, url)).collect()
}

/// A server URL that lists several hosts, taken apart.
struct HostList<'a> {
    scheme: &'a str,
    userinfo: Option<&'a str>,
    /// `h1:p1,h2:p2,…`
    hosts: &'a str,
    /// `/db?options`
    tail: &'a str,
}

impl HostList<'_> {
    /// The URL once per host, with that host alone.
    fn urls(&self) -> Vec<String> {
        let (scheme, tail) = (self.scheme, self.tail);
        self.hosts
            .split(',')
            .map(|host| match self.userinfo {
                Some(u) => format!("{scheme}://{u}@{}{tail}", host.trim()),
                None => format!("{scheme}://{}{tail}", host.trim()),
            })
            .collect()
    }
}

fn host_list(raw: &str) -> Option<HostList<'_>> {
    let (scheme, rest) = raw.split_once("://")?;
    if Dialect::from_name(scheme) == Some(Dialect::Sqlite) {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    hosts.contains(',').then_some(HostList {
        scheme,
        userinfo,
        hosts,
        tail,
    })
}

/// The hosts of a server URL that lists several (`scheme://user:pw@h1:p1,h2:p2/db?opts`),
/// each as the same URL with that host alone; `None` when it names one host (or a file).
pub fn split_host_list(raw: &str) -> Option<Vec<String>> {
    host_list(raw).map(|list| list.urls())
}

/// Checks `raw`, one host of `url` (which messages show, redacted).
fn check_url(raw: &str, url: &SecretUrl) -> Result<CheckedUrl> {
    let invalid = |reason: String| Error::InvalidUrl {
        url: url.redacted(),
        reason,
    };
    if let Some(hint) = settings::userinfo_hint(raw) {
        return Err(invalid(hint.to_owned()));
    }
    let parsed = url::Url::parse(raw).map_err(|e| invalid(e.to_string()))?;
    let dialect = Dialect::from_name(parsed.scheme()).ok_or_else(|| {
        invalid(format!(
            "unsupported scheme {}; use {}",
            settings::quoted(parsed.scheme()),
            Dialect::EXPECTED
        ))
    })?;
    let driver_url = match raw.split_once(':') {
        Some((_, rest)) => format!("{}:{rest}", dialect.scheme()),
        None => raw.to_owned(),
    };
    let target = if dialect == Dialect::Sqlite {
        let file = raw["sqlite:".len()..].trim_start_matches("//");
        file.split('?').next().unwrap_or(file).to_owned()
    } else {
        let port = parsed.port().or(dialect.default_port()).unwrap_or(0);
        match parsed.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => format!("{d}:{port}"),
            Some(url::Host::Ipv4(ip)) => format!("{ip}:{port}"),
            Some(url::Host::Ipv6(ip)) => format!("[{ip}]:{port}"),
            _ => return Err(invalid("no host".to_owned())),
        }
    };
    Ok(CheckedUrl {
        driver_url,
        dialect,
        target,
    })
}

/// Which host of the URL a connection went to, and why (the URL names several).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostChoice {
    /// `host:port` of the host used.
    pub chosen: String,
    /// Whether it is a Galera node (so it was chosen for being synced, not just for answering).
    pub galera: bool,
    /// The hosts before it, each with why it was passed over.
    pub passed_over: Vec<(String, String)>,
}

impl std::fmt::Display for HostChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = if self.galera {
            "first synced"
        } else {
            "first to answer"
        };
        write!(f, "{} ({why}", self.chosen)?;
        for (host, reason) in &self.passed_over {
            write!(f, "; {host} {reason}")?;
        }
        write!(f, ")")
    }
}

/// Connects and logs in once, failing within the connect timeout with
/// [`Error::Unreachable`] (a refused port at once), then returns a pool over the same options.
/// A Galera node outside the primary component is refused with [`Error::NotPrimary`].
pub async fn connect(settings: &ConnectSettings) -> Result<DatabaseConnection> {
    Ok(connect_choosing(settings).await?.0)
}

/// As [`connect`], also saying which host was chosen when the URL lists several.
pub async fn connect_choosing(
    settings: &ConnectSettings,
) -> Result<(DatabaseConnection, Option<HostChoice>)> {
    let targets = check_urls(&settings.url)?;
    if let [only] = targets.as_slice() {
        return Ok((open(only, settings).await?.0, None));
    }
    let mut passed_over = Vec::new();
    for target in &targets {
        match open(target, settings).await {
            Ok((db, galera)) => {
                let choice = HostChoice {
                    chosen: target.target.clone(),
                    galera,
                    passed_over,
                };
                return Ok((db, Some(choice)));
            }
            Err(e @ (Error::UrlOption { .. } | Error::InvalidUrl { .. })) => return Err(e),
            Err(e) => passed_over.push((target.target.clone(), passed_over_reason(&e))),
        }
    }
    Err(Error::Unreachable {
        target: format!(
            "any of {}",
            targets
                .iter()
                .map(|t| t.target.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        reason: passed_over
            .iter()
            .map(|(host, reason)| format!("{host} {reason}"))
            .collect::<Vec<_>>()
            .join("; "),
    })
}

/// Which host [`connect`] would use now, when the URL lists several (`None` otherwise): each
/// host tried is logged in to and out of, nothing else.
pub async fn choose_host(settings: &ConnectSettings) -> Result<Option<HostChoice>> {
    if split_host_list(settings.url.expose()).is_none() {
        return Ok(None);
    }
    let (db, choice) = connect_choosing(settings).await?;
    // Best effort: the pool has no connection open (the one login was closed).
    let _closed = db.close().await;
    Ok(choice)
}

/// Why a host of a list was passed over, in a few words.
fn passed_over_reason(e: &Error) -> String {
    match e {
        Error::Unreachable { reason, .. } if reason.starts_with("connection refused") => {
            "refused connection".to_owned()
        }
        Error::Unreachable { reason, .. } => reason.clone(),
        Error::NotPrimary(_) => "is not part of the primary component".to_owned(),
        other => other.to_string(),
    }
}

/// Logs in to one host within the connect timeout and returns a lazy pool over it, and
/// whether it is a Galera node.
async fn open(
    checked: &CheckedUrl,
    settings: &ConnectSettings,
) -> Result<(DatabaseConnection, bool)> {
    let bad_option = |e: sqlx::Error| Error::UrlOption {
        url: settings.url.redacted(),
        reason: configuration_reason(&e),
    };
    match checked.dialect {
        Dialect::MySql => {
            let options = sqlx::mysql::MySqlConnectOptions::from_str(&checked.driver_url)
                .map_err(bad_option)?
                .disable_statement_logging();
            let mut first = first_login(&options, settings, &checked.target).await?;
            let galera = galera_state(&mut first, &checked.target).await;
            first.close().await.ok();
            let galera = galera?;
            let pool = if galera {
                // Causal reads: a read waits until this node has applied every transaction
                // the cluster committed before it began, so a row written through one node
                // is seen through any other at once.
                pool_options(settings).after_connect(|conn, _| {
                    Box::pin(async move {
                        sqlx::Executor::execute(conn, "SET SESSION wsrep_sync_wait = 1")
                            .await
                            .map(drop)
                    })
                })
            } else {
                pool_options(settings)
            };
            Ok((
                SqlxMySqlConnector::from_sqlx_mysql_pool(pool.connect_lazy_with(options)),
                galera,
            ))
        }
        Dialect::Postgres => {
            let options = sqlx::postgres::PgConnectOptions::from_str(&checked.driver_url)
                .map_err(bad_option)?
                .disable_statement_logging();
            first_login(&options, settings, &checked.target)
                .await?
                .close()
                .await
                .ok();
            Ok((
                SqlxPostgresConnector::from_sqlx_postgres_pool(
                    pool_options(settings).connect_lazy_with(options),
                ),
                false,
            ))
        }
        Dialect::Sqlite => {
            let options = sqlite_options(settings, checked)?;
            let mut first = first_login(&options, settings, &checked.target).await?;
            // Opening never reads the file; the first statement does, and says whether it is
            // a SQLite database at all.
            if let Err(e) = sqlx::query("PRAGMA schema_version")
                .execute(&mut first)
                .await
            {
                return Err(match sqlite_code(&e).as_deref() {
                    Some("26") => Error::NotSqlite(checked.target.clone()),
                    _ => Error::Unreachable {
                        target: checked.target.clone(),
                        reason: driver_reason(&e),
                    },
                });
            }
            first.close().await.ok();
            Ok((
                SqlxSqliteConnector::from_sqlx_sqlite_pool(
                    pool_options(settings).connect_lazy_with(options),
                ),
                false,
            ))
        }
    }
}

/// Whether the server on `conn` is a Galera node (`wsrep_on`), failing with
/// [`Error::NotPrimary`] when it is one that cannot take queries (`wsrep_ready` is not `ON`:
/// it lost quorum, or is still joining).
async fn galera_state(conn: &mut sqlx::MySqlConnection, target: &str) -> Result<bool> {
    let unreachable = |e: sqlx::Error| Error::Unreachable {
        target: target.to_owned(),
        reason: driver_reason(&e),
    };
    let on: Option<(String, String)> = sqlx::query_as("SHOW VARIABLES LIKE 'wsrep_on'")
        .fetch_optional(&mut *conn)
        .await
        .map_err(unreachable)?;
    if !on.is_some_and(|(_, v)| v.eq_ignore_ascii_case("ON")) {
        return Ok(false);
    }
    let ready: Option<(String, String)> = sqlx::query_as("SHOW STATUS LIKE 'wsrep_ready'")
        .fetch_optional(&mut *conn)
        .await
        .map_err(unreachable)?;
    if ready.is_some_and(|(_, v)| v.eq_ignore_ascii_case("ON")) {
        Ok(true)
    } else {
        Err(Error::NotPrimary(Some(target.to_owned())))
    }
}

/// The pool behind every connection after the first.
fn pool_options<DB: sqlx::Database>(settings: &ConnectSettings) -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::new()
        .max_connections(POOL_SIZE)
        .min_connections(0)
        .acquire_timeout(settings.connect_timeout)
}

/// A pool over `settings` that logs in only when first used, for a long-running server that
/// must start, and recover by itself, while the database is down. The URL is still checked.
///
/// With a list of hosts, the first one is used: nothing can be asked of them before starting.
pub fn connect_lazy(settings: &ConnectSettings) -> Result<DatabaseConnection> {
    let targets = check_urls(&settings.url)?;
    let Some(checked) = targets.into_iter().next() else {
        return Err(Error::InvalidUrl {
            url: settings.url.redacted(),
            reason: "no host".to_owned(),
        });
    };
    let bad_option = |e: sqlx::Error| Error::UrlOption {
        url: settings.url.redacted(),
        reason: configuration_reason(&e),
    };
    Ok(match checked.dialect {
        Dialect::MySql => SqlxMySqlConnector::from_sqlx_mysql_pool(
            pool_options(settings).connect_lazy_with(
                sqlx::mysql::MySqlConnectOptions::from_str(&checked.driver_url)
                    .map_err(bad_option)?
                    .disable_statement_logging(),
            ),
        ),
        Dialect::Postgres => SqlxPostgresConnector::from_sqlx_postgres_pool(
            pool_options(settings).connect_lazy_with(
                sqlx::postgres::PgConnectOptions::from_str(&checked.driver_url)
                    .map_err(bad_option)?
                    .disable_statement_logging(),
            ),
        ),
        Dialect::Sqlite => SqlxSqliteConnector::from_sqlx_sqlite_pool(
            pool_options(settings).connect_lazy_with(sqlite_options(settings, &checked)?),
        ),
    })
}

/// How a SQLite file is opened for `settings.access`.
fn sqlite_options(
    settings: &ConnectSettings,
    checked: &CheckedUrl,
) -> Result<sqlx::sqlite::SqliteConnectOptions> {
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(&checked.driver_url)
        .map_err(|e| Error::UrlOption {
            url: settings.url.redacted(),
            reason: configuration_reason(&e),
        })?
        .busy_timeout(settings.busy_timeout)
        .disable_statement_logging();
    let in_memory = checked.target.is_empty() || checked.target.starts_with(":memory:");
    let missing = !in_memory && !std::path::Path::new(&checked.target).exists();
    if missing && settings.access != Access::Create {
        // Reading or changing a file that does not exist is reading or changing an empty
        // database; creating the file to find that out would be a change.
        return sqlx::sqlite::SqliteConnectOptions::from_str("sqlite::memory:").map_err(|e| {
            Error::InvalidUrl {
                url: settings.url.redacted(),
                reason: configuration_reason(&e),
            }
        });
    }
    Ok(match settings.access {
        Access::Read => options.read_only(true).create_if_missing(false),
        Access::Write => options.create_if_missing(false),
        Access::Create => {
            let mode_given = url::Url::parse(&checked.driver_url)
                .is_ok_and(|u| u.query_pairs().any(|(k, _)| k == "mode"));
            if mode_given {
                options
            } else {
                options.create_if_missing(true)
            }
        }
    })
}

/// One connection, logged in, within `timeout`; every failure named as what it is.
async fn first_login<O>(
    options: &O,
    settings: &ConnectSettings,
    target: &str,
) -> Result<O::Connection>
where
    O: sqlx::ConnectOptions,
    O::Connection: Sized,
{
    let timeout = settings.connect_timeout;
    let unreachable = |reason: String| Error::Unreachable {
        target: target.to_owned(),
        reason,
    };
    match tokio::time::timeout(timeout, options.connect()).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(sqlx::Error::Io(e))) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Err(unreachable(
                "connection refused (is the server running and listening on that port?)".into(),
            ))
        }
        Ok(Err(e @ sqlx::Error::Configuration(_))) => Err(Error::UrlOption {
            url: settings.url.redacted(),
            reason: configuration_reason(&e),
        }),
        Ok(Err(e)) => Err(unreachable(driver_reason(&e))),
        Err(_elapsed) => Err(unreachable(format!(
            "no answer within {}s (the connect timeout)",
            timeout.as_secs_f32()
        ))),
    }
}

/// The SQLite result code of a driver error, when there is one.
pub(crate) fn sqlite_code(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// What the driver said, without SeaORM's or sqlx's layer names.
fn driver_reason(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => db.message().to_owned(),
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Tls(tls) => format!("TLS: {tls}"),
        other => other.to_string(),
    }
}

/// sqlx's reason for an unusable URL option, without its "error with configuration" prefix.
fn configuration_reason(e: &sqlx::Error) -> String {
    let text = match e {
        sqlx::Error::Configuration(inner) => inner.to_string(),
        other => other.to_string(),
    };
    let mut reason = text.as_str();
    while let Some(rest) = reason.strip_prefix("error with configuration: ") {
        reason = rest;
    }
    reason.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(url: &str) -> Result<CheckedUrl> {
        check_url(url, &SecretUrl::new(url))
    }

    #[test]
    fn check_url_names_host_and_port() {
        assert_eq!(
            checked("mysql://u:p@10.0.0.9/db").unwrap().target,
            "10.0.0.9:3306"
        );
        assert_eq!(checked("postgres://u@h:6543/db").unwrap().target, "h:6543");
        assert_eq!(checked(DEFAULT_DATABASE_URL).unwrap().target, "students.db");
        assert_eq!(checked("sqlite:///tmp/x.db").unwrap().target, "/tmp/x.db");
        let m = checked("mariadb://u:p@h/db").unwrap();
        assert_eq!(m.driver_url, "mysql://u:p@h/db");
        assert_eq!(m.dialect, Dialect::MySql);
    }

    #[test]
    fn check_url_rejects_unknown_schemes_without_leaking_the_password() {
        let text = checked("oracle://u:topsecret@h/db")
            .unwrap_err()
            .to_string();
        assert!(text.contains("unsupported scheme `oracle`"), "{text}");
        assert!(!text.contains("topsecret"), "{text}");
    }

    #[test]
    fn an_unencoded_slash_in_the_password_is_refused_with_a_hint() {
        let text = checked("mysql://app:123/ss@h/db").unwrap_err().to_string();
        assert!(text.contains("percent-encode"), "{text}");
        assert!(!text.contains("123") && !text.contains("ss@"), "{text}");
    }

    #[test]
    fn a_host_list_becomes_one_url_per_host_in_order() {
        let hosts = split_host_list(
            "mysql://app:p%40ss@127.0.0.1:4306, 127.0.0.1:4307,h3/db?ssl-mode=disabled",
        )
        .unwrap();
        assert_eq!(
            hosts,
            [
                "mysql://app:p%40ss@127.0.0.1:4306/db?ssl-mode=disabled",
                "mysql://app:p%40ss@127.0.0.1:4307/db?ssl-mode=disabled",
                "mysql://app:p%40ss@h3/db?ssl-mode=disabled",
            ]
        );
        let targets: Vec<String> = check_urls(&SecretUrl::new(
            "mariadb://u@10.0.0.1:4306,10.0.0.2:4307,[::1]/db",
        ))
        .unwrap()
        .into_iter()
        .map(|c| c.target)
        .collect();
        assert_eq!(targets, ["10.0.0.1:4306", "10.0.0.2:4307", "[::1]:3306"]);
        assert_eq!(split_host_list("mysql://u:p@h:3306/db"), None);
        assert_eq!(split_host_list("sqlite://a,b.db"), None);
    }

    #[test]
    fn a_broken_host_list_is_refused_without_the_password() {
        let text = checked_list("mysql://u:topsecret@h1:1,,h3:3/db")
            .unwrap_err()
            .to_string();
        assert!(text.contains("the host list has an empty entry"), "{text}");
        assert!(!text.contains("topsecret"), "{text}");
        let text = checked_list("mysql://u:topsecret@h1:1,h2:notaport/db")
            .unwrap_err()
            .to_string();
        assert!(!text.contains("topsecret"), "{text}");
    }

    fn checked_list(url: &str) -> Result<Vec<CheckedUrl>> {
        check_urls(&SecretUrl::new(url))
    }

    #[test]
    fn the_choice_names_the_host_and_why() {
        let choice = HostChoice {
            chosen: "127.0.0.1:4307".into(),
            galera: true,
            passed_over: vec![("127.0.0.1:4306".into(), "refused connection".into())],
        };
        assert_eq!(
            choice.to_string(),
            "127.0.0.1:4307 (first synced; 127.0.0.1:4306 refused connection)"
        );
        let plain = HostChoice {
            chosen: "h:3306".into(),
            galera: false,
            passed_over: Vec::new(),
        };
        assert_eq!(plain.to_string(), "h:3306 (first to answer)");
    }
}
