//! Opens a database from a URL, with a bounded connect timeout and no password in any message.

use std::time::Duration;

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend, DbErr, RuntimeErr};
use url::Url;

use crate::error::{Error, Result};

/// The embedded default: a SQLite file in the current directory, created on first use.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://students.db?mode=rwc";

/// How long to wait for a server to accept a login, unless told otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a SQLite writer waits for another writer (a concurrent `seed`, say) to commit.
pub(crate) const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Where and how to connect.
#[derive(Clone)]
pub struct ConnectSettings {
    /// A `mysql://`, `mariadb://`, `postgres://` or `sqlite:` URL.
    pub url: String,
    /// Upper bound on reaching the server and logging in.
    pub connect_timeout: Duration,
    /// For commands that only read: a SQLite file is opened read-only and never created (a
    /// missing file reads as an empty database). Servers enforce this with the user's grants.
    pub read_only: bool,
}

impl std::fmt::Debug for ConnectSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectSettings")
            .field("url", &redact_url(&self.url))
            .field("connect_timeout", &self.connect_timeout)
            .field("read_only", &self.read_only)
            .finish()
    }
}

impl ConnectSettings {
    /// Settings for `url` with the default timeout.
    pub fn new(url: impl Into<String>) -> Self {
        ConnectSettings {
            url: url.into(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_only: false,
        }
    }
}

/// A database URL that has been checked: its backend is known and it can be shown safely.
#[derive(Clone)]
struct CheckedUrl {
    /// What is handed to the driver (`mariadb://` rewritten to `mysql://`).
    driver_url: String,
    backend: DbBackend,
    /// `host:port` for servers, the file for SQLite: what messages name.
    target: String,
    /// Whether a SQLite URL says itself how to open the file (`mode=ro`, …).
    sqlite_mode_given: bool,
    /// The TCP endpoint to probe first; `None` for SQLite and Unix sockets.
    tcp: Option<(String, u16)>,
}

fn check_url(raw: &str) -> Result<CheckedUrl> {
    let invalid = |reason: &str| Error::InvalidUrl {
        url: redact_url(raw),
        reason: reason.to_owned(),
    };
    let url = Url::parse(raw).map_err(|e| invalid(&e.to_string()))?;
    let (backend, default_port) = match url.scheme() {
        "mysql" | "mariadb" => (DbBackend::MySql, 3306),
        "postgres" | "postgresql" => (DbBackend::Postgres, 5432),
        "sqlite" => (DbBackend::Sqlite, 0),
        other => {
            return Err(invalid(&format!(
                "unsupported scheme `{other}`; use mysql, mariadb, postgres or sqlite"
            )));
        }
    };
    let driver_url = match url.scheme() {
        "mariadb" => format!("mysql{}", &raw["mariadb".len()..]),
        _ => raw.to_owned(),
    };
    let has_param = |name: &str| url.query_pairs().any(|(k, _)| k == name);
    let (target, tcp) = if backend == DbBackend::Sqlite {
        let file = raw["sqlite:".len()..].trim_start_matches("//");
        (file.split('?').next().unwrap_or(file).to_owned(), None)
    } else {
        let port = url.port().unwrap_or(default_port);
        let (shown, bare) = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => (d.to_owned(), d.to_owned()),
            Some(url::Host::Ipv4(ip)) => (ip.to_string(), ip.to_string()),
            Some(url::Host::Ipv6(ip)) => (format!("[{ip}]"), ip.to_string()),
            _ => return Err(invalid("no host")),
        };
        let via_socket = has_param("socket") || has_param("host");
        (
            format!("{shown}:{port}"),
            (!via_socket).then_some((bare, port)),
        )
    };
    let sqlite_mode_given = has_param("mode");
    Ok(CheckedUrl {
        driver_url,
        backend,
        target,
        sqlite_mode_given,
        tcp,
    })
}

/// The URL with its password (if any) replaced by `***`, fit for messages and logs.
pub fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            // Only fails for URLs that cannot have a password, which this one has.
            if url.set_password(Some("***")).is_ok() {
                url.to_string()
            } else {
                "<database URL hidden>".to_owned()
            }
        }
        Ok(url) => url.to_string(),
        // Unparseable: any part of it could be a password.
        Err(_) => "<unparseable URL hidden>".to_owned(),
    }
}

/// Replaces every occurrence of the URL's password in `message` with `***`.
///
/// A last line of defence for text that came from a driver: callers print nothing that has
/// not gone through this.
pub fn scrub_password(message: &str, raw_url: &str) -> String {
    let mut out = message.to_owned();
    if let Ok(url) = Url::parse(raw_url)
        && let Some(encoded) = url.password()
    {
        let decoded = url::form_urlencoded::parse(format!("p={encoded}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned());
        let percent_decoded = percent_encoding::percent_decode_str(encoded)
            .decode_utf8_lossy()
            .into_owned();
        for secret in [Some(encoded.to_owned()), decoded, Some(percent_decoded)]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
        {
            out = out.replace(&secret, "***");
        }
    }
    out
}

/// Connects and logs in, failing with [`Error::Unreachable`] within the connect timeout.
pub async fn connect(settings: &ConnectSettings) -> Result<DatabaseConnection> {
    let checked = check_url(&settings.url)?;
    let sqlite = checked.backend == DbBackend::Sqlite;
    // Reading a file that does not exist is reading an empty database; creating the file
    // just to read it would be a change.
    let missing_file =
        sqlite && settings.read_only && !std::path::Path::new(&checked.target).exists();
    let driver_url = if missing_file {
        "sqlite::memory:".to_owned()
    } else {
        checked.driver_url.clone()
    };
    let mut options = ConnectOptions::new(driver_url);
    options
        .connect_timeout(settings.connect_timeout)
        .acquire_timeout(settings.connect_timeout)
        .max_connections(4)
        .min_connections(0)
        // Statements are echoed by SeaORM's `debug-print` (target `sea_orm::driver`), with
        // their values, when the caller installs a subscriber; sqlx's own log would repeat them.
        .sqlx_logging(false);
    if sqlite && !missing_file {
        let read_only = settings.read_only;
        let create = !checked.sqlite_mode_given && !read_only;
        options.map_sqlx_sqlite_opts(move |o| {
            let o = o.busy_timeout(SQLITE_BUSY_TIMEOUT);
            let o = if read_only {
                o.read_only(true).create_if_missing(false)
            } else {
                o
            };
            if create { o.create_if_missing(true) } else { o }
        });
    }
    let unreachable = |reason: String| Error::Unreachable {
        target: checked.target.clone(),
        reason: scrub_password(&reason, &settings.url),
    };
    if let Some((host, port)) = &checked.tcp {
        probe_tcp(host, *port, settings.connect_timeout)
            .await
            .map_err(unreachable)?;
    }
    let connected =
        tokio::time::timeout(settings.connect_timeout, Database::connect(options)).await;
    match connected {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) => Err(unreachable(connect_failure_reason(
            &e,
            settings.connect_timeout,
        ))),
        Err(_elapsed) => Err(unreachable(format!(
            "no answer within {}s (the connect timeout)",
            settings.connect_timeout.as_secs_f32()
        ))),
    }
}

/// Opens and closes one TCP connection, so that a refused port or an unknown host is reported
/// at once and as such; the driver's pool would retry until the timeout and then only say that
/// it timed out.
async fn probe_tcp(host: &str, port: u16, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect((host, port))).await {
        Ok(Ok(_stream)) => Ok(()),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Err("connection refused (is the server running and listening on that port?)".into())
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_elapsed) => Err(format!(
            "no answer within {}s (the connect timeout)",
            timeout.as_secs_f32()
        )),
    }
}

fn connect_failure_reason(err: &DbErr, timeout: Duration) -> String {
    let timed_out = format!(
        "no answer within {}s (the connect timeout)",
        timeout.as_secs_f32()
    );
    match err {
        DbErr::ConnectionAcquire(_) => timed_out,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => match e.as_ref() {
            sea_orm::SqlxError::PoolTimedOut => timed_out,
            sea_orm::SqlxError::Database(db) => db.message().to_owned(),
            other => other.to_string(),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_masks_only_the_password() {
        assert_eq!(
            redact_url("mysql://app:s3cr%40t@db.example:3306/my_flask"),
            "mysql://app:***@db.example:3306/my_flask"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert!(!redact_url("not a url s3cret").contains("s3cret"));
    }

    #[test]
    fn scrub_password_removes_encoded_and_decoded_forms() {
        let url = "mysql://app:p%40ss%3Aw0rd@h/db";
        let msg = "login for p@ss:w0rd / p%40ss%3Aw0rd failed";
        let scrubbed = scrub_password(msg, url);
        assert!(!scrubbed.contains("w0rd"), "{scrubbed}");
    }

    #[test]
    fn check_url_names_host_and_port() {
        assert_eq!(
            check_url("mysql://u:p@10.0.0.9/db").unwrap().target,
            "10.0.0.9:3306"
        );
        assert_eq!(
            check_url("postgres://u@h:6543/db").unwrap().target,
            "h:6543"
        );
        assert_eq!(
            check_url(DEFAULT_DATABASE_URL).unwrap().target,
            "students.db"
        );
        assert_eq!(check_url("sqlite:///tmp/x.db").unwrap().target, "/tmp/x.db");
        let m = check_url("mariadb://u:p@h/db").unwrap();
        assert_eq!(m.driver_url, "mysql://u:p@h/db");
        assert_eq!(m.backend, DbBackend::MySql);
    }

    #[test]
    fn check_url_rejects_unknown_schemes_without_leaking_the_password() {
        let err = check_url("oracle://u:topsecret@h/db").err().unwrap();
        let text = err.to_string();
        assert!(text.contains("unsupported scheme `oracle`"), "{text}");
        assert!(!text.contains("topsecret"), "{text}");
    }
}
