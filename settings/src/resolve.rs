//! Merging flags, the environment, `.env` and the settings file into the settings in force.
//!
//! Precedence, highest first: the flag, the environment variable, `.env`, the chosen
//! profile's table, the `[default]` table, the built-in default. Every setting is resolved on
//! its own, so `cli config` can show all of them even when one is broken.

use std::path::PathBuf;

use crate::dialect::Dialect;
use crate::env::Environment;
use crate::error::SettingsError;
use crate::file::{DEFAULT_FILE, DEFAULT_TABLE, Entry, SettingsFile, Table, Value};
use crate::profile::Profile;
use crate::secret::{Secret, SecretUrl};
use crate::session::{
    CookieSettings, DEFAULT_SESSION_COOKIE_NAME, DEFAULT_SESSION_DIR, DEFAULT_SESSION_KEY_PREFIX,
    DEFAULT_SESSION_LIFETIME, DEFAULT_SESSION_MAX_BYTES, SameSite, SessionSettings, SessionType,
};
use crate::source::{Source, Sourced};

/// The embedded default: a SQLite file in the current directory, created on first use.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://students.db?mode=rwc";

/// Seconds to wait for a server to accept a login, unless told otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: u64 = 5;

/// Seconds a SQLite writer waits for another process's lock before failing, unless told
/// otherwise.
pub const DEFAULT_BUSY_TIMEOUT: u64 = 60;

/// What the command line says, before the environment and the file are consulted.
#[derive(Debug, Default, Clone)]
pub struct Flags {
    /// `--database-url`.
    pub database_url: Option<String>,
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--env`.
    pub profile: Option<String>,
    /// `--connect-timeout`.
    pub connect_timeout: Option<u64>,
    /// `--busy-timeout`.
    pub busy_timeout: Option<u64>,
    /// `-v`.
    pub echo: bool,
}

/// The database URL in force and, when it was composed from parts, those parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    /// The URL given to the driver.
    pub url: Sourced<SecretUrl>,
    /// The parts it was composed from, as `cli config` lists them (passwords as `***`).
    pub parts: Vec<Part>,
}

/// One part of a composed URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The key, e.g. `host`.
    pub key: &'static str,
    /// The value as shown; `***` for a password.
    pub shown: String,
    /// Where it was set.
    pub source: Source,
}

/// Every setting in force, each with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The chosen profile.
    pub profile: Sourced<Profile>,
    /// The settings file read, if any.
    pub file: Option<PathBuf>,
    /// Where to connect.
    pub database: Database,
    /// Whether to print every SQL statement.
    pub echo: Sourced<bool>,
    /// Seconds to wait for a server to accept the login.
    pub connect_timeout: Sourced<u64>,
    /// Seconds a SQLite writer waits for another process's lock.
    pub busy_timeout: Sourced<u64>,
    /// Where and how sessions are kept.
    pub sessions: SessionSettings,
    /// The session cookie and its signing key.
    pub cookie: CookieSettings,
}

impl Settings {
    /// Resolves every setting, failing on the first problem (in the settings file, first by
    /// line).
    pub fn resolve(flags: &Flags, env: &Environment) -> Result<Self, SettingsError> {
        Resolution::resolve(flags, env).into_settings()
    }
}

/// Every setting, or the error that keeps it from being used: what `cli config` shows.
#[derive(Debug)]
pub struct Resolution {
    /// The chosen profile.
    pub profile: Result<Sourced<Profile>, SettingsError>,
    /// The settings file, if one is in use, or why it cannot be read.
    pub file: Option<Result<PathBuf, SettingsError>>,
    /// Problems in the settings file that no single setting owns (syntax, unknown keys).
    pub file_errors: Vec<SettingsError>,
    /// Where to connect.
    pub database: Result<Database, SettingsError>,
    /// Whether to print every SQL statement.
    pub echo: Result<Sourced<bool>, SettingsError>,
    /// Seconds to wait for a login.
    pub connect_timeout: Result<Sourced<u64>, SettingsError>,
    /// Seconds a SQLite writer waits for a lock.
    pub busy_timeout: Result<Sourced<u64>, SettingsError>,
    /// Where and how sessions are kept.
    pub sessions: Result<SessionSettings, SettingsError>,
    /// The session cookie and its signing key.
    pub cookie: Result<CookieSettings, SettingsError>,
}

impl Resolution {
    /// Resolves every setting independently.
    pub fn resolve(flags: &Flags, env: &Environment) -> Self {
        Self::resolve_with(flags, env, settings_file(flags, env))
    }

    /// As [`Resolution::resolve`], with the settings file already read (or not).
    fn resolve_with(
        flags: &Flags,
        env: &Environment,
        file: Option<Result<SettingsFile, SettingsError>>,
    ) -> Self {
        let (path, parsed) = match &file {
            None => (None, None),
            Some(Ok(f)) => (Some(Ok(f.path.clone())), Some(f)),
            Some(Err(e)) => (Some(Err(e.clone())), None),
        };
        let profile = profile(flags, env, path.as_ref().and_then(|p| p.as_ref().ok()));
        let chosen = profile.as_ref().map_or(Profile::Develop, |p| p.value);
        let layers = Layers::new(parsed, chosen);
        // Every mistake in the file, in tables this profile reads or not, comes first: a value
        // of the wrong type explains a missing part better than the missing part does.
        let mut file_errors: Vec<SettingsError> = parsed
            .map(|f| f.errors.iter().chain(f.broken_keys()).cloned().collect())
            .unwrap_or_default();
        file_errors.sort_by_key(line);
        Resolution {
            database: database(flags, env, &layers),
            echo: pick(
                flags.echo.then(|| Sourced::new(true, Source::Flag("-v"))),
                &layers,
                "echo",
                |v| match v {
                    Value::Flag(b) => Some(*b),
                    _ => None,
                },
                false,
            ),
            connect_timeout: pick(
                flags
                    .connect_timeout
                    .map(|s| Sourced::new(s, Source::Flag("--connect-timeout"))),
                &layers,
                "connect_timeout",
                number,
                DEFAULT_CONNECT_TIMEOUT,
            ),
            busy_timeout: pick(
                flags
                    .busy_timeout
                    .map(|s| Sourced::new(s, Source::Flag("--busy-timeout"))),
                &layers,
                "busy_timeout",
                number,
                DEFAULT_BUSY_TIMEOUT,
            ),
            sessions: sessions(&layers),
            cookie: cookie(env, &layers, chosen),
            profile,
            file: path,
            file_errors,
        }
    }

    /// Every error, in the order a user should fix them.
    pub fn errors(&self) -> Vec<&SettingsError> {
        let mut errors: Vec<&SettingsError> = Vec::new();
        if let Some(Err(e)) = &self.file {
            errors.push(e);
        }
        if let Err(e) = &self.profile {
            errors.push(e);
        }
        errors.extend(&self.file_errors);
        for result in [
            self.database.as_ref().err(),
            self.echo.as_ref().err(),
            self.connect_timeout.as_ref().err(),
            self.busy_timeout.as_ref().err(),
            self.sessions.as_ref().err(),
            self.cookie.as_ref().err(),
        ]
        .into_iter()
        .flatten()
        {
            if !errors.contains(&result) {
                errors.push(result);
            }
        }
        errors
    }

    /// The settings, or the first error.
    pub fn into_settings(self) -> Result<Settings, SettingsError> {
        if let Some(first) = self.errors().first() {
            return Err((*first).clone());
        }
        Ok(Settings {
            profile: self.profile?,
            file: self.file.transpose()?,
            database: self.database?,
            echo: self.echo?,
            connect_timeout: self.connect_timeout?,
            busy_timeout: self.busy_timeout?,
            sessions: self.sessions?,
            cookie: self.cookie?,
        })
    }
}

/// The line an error points at, for ordering; errors without one go last.
fn line(e: &SettingsError) -> usize {
    match e {
        SettingsError::File { line, .. } => *line,
        _ => usize::MAX,
    }
}

fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => u64::try_from(*n).ok(),
        _ => None,
    }
}

/// `--config`, else `STUDENTS_CONFIG`, else `./settings.toml` when it exists.
fn settings_file(flags: &Flags, env: &Environment) -> Option<Result<SettingsFile, SettingsError>> {
    let path = match (&flags.config, env.get("STUDENTS_CONFIG")) {
        (Some(path), _) => path.clone(),
        (None, Err(e)) => return Some(Err(e)),
        (None, Ok(Some(var))) => PathBuf::from(var.value),
        (None, Ok(None)) => {
            let default = PathBuf::from(DEFAULT_FILE);
            if !default.exists() {
                return None;
            }
            default
        }
    };
    Some(SettingsFile::read(&path))
}

fn profile(
    flags: &Flags,
    env: &Environment,
    file: Option<&PathBuf>,
) -> Result<Sourced<Profile>, SettingsError> {
    let given = match &flags.profile {
        Some(name) => Some(Sourced::new(name.clone(), Source::Flag("--env"))),
        None => env.get("APP_ENV")?,
    };
    let Some(given) = given else {
        return Ok(Sourced::default_value(Profile::Develop));
    };
    match Profile::from_name(&given.value) {
        Some(p) => Ok(Sourced::new(p, given.source)),
        None => Err(SettingsError::UnknownProfile {
            name: given.value,
            from: given.source,
            file: file.cloned(),
        }),
    }
}

/// The tables a profile reads, most specific first: its own, then `[default]`.
struct Layers<'a> {
    file: Option<&'a SettingsFile>,
    tables: Vec<&'a Table>,
}

impl<'a> Layers<'a> {
    fn new(file: Option<&'a SettingsFile>, profile: Profile) -> Self {
        let tables = file.map_or_else(Vec::new, |f| {
            [profile.name(), DEFAULT_TABLE]
                .into_iter()
                .filter_map(|name| f.get_table(name))
                .collect()
        });
        Layers { file, tables }
    }

    /// The most specific table that sets `key`, and its entry; a broken value is an error,
    /// not a reason to fall back to `[default]`.
    fn find(&self, key: &str) -> Result<Option<(&'a Table, &'a Entry)>, SettingsError> {
        for table in &self.tables {
            if let Some(entry) = table.get(key)? {
                return Ok(Some((table, entry)));
            }
        }
        Ok(None)
    }

    fn source(&self, table: &Table, line: usize) -> Source {
        match self.file {
            Some(f) => f.source(table.name, line),
            None => Source::Default,
        }
    }

    fn fail(&self, table: &Table, line: usize, message: impl Into<String>) -> SettingsError {
        match self.file {
            Some(f) => f.fail(table.name, line, message),
            None => SettingsError::Invalid(message.into()),
        }
    }
}

/// The flag, else the most specific table's value, else `default`: every plain setting.
fn pick<T>(
    flag: Option<Sourced<T>>,
    layers: &Layers<'_>,
    key: &str,
    convert: impl Fn(&Value) -> Option<T>,
    default: T,
) -> Result<Sourced<T>, SettingsError> {
    if let Some(flag) = flag {
        return Ok(flag);
    }
    match layers.find(key)? {
        Some((table, entry)) => match convert(&entry.value) {
            Some(value) => Ok(Sourced::new(value, layers.source(table, entry.line))),
            None => Err(layers.fail(table, entry.line, format!("`{key}` has the wrong type"))),
        },
        None => Ok(Sourced::default_value(default)),
    }
}

fn text<'a>(
    layers: &Layers<'a>,
    key: &str,
) -> Result<Option<(&'a Table, &'a Entry, &'a str)>, SettingsError> {
    Ok(layers.find(key)?.and_then(|(t, e)| match &e.value {
        Value::Text(s) => Some((t, e, s.as_str())),
        _ => None,
    }))
}

fn secret<'a>(
    layers: &Layers<'a>,
    key: &str,
) -> Result<Option<(&'a Table, &'a Entry, &'a Secret)>, SettingsError> {
    Ok(layers.find(key)?.and_then(|(t, e)| match &e.value {
        Value::Secret(s) => Some((t, e, s)),
        _ => None,
    }))
}

/// The database URL: `--database-url`, `DATABASE_URL`, the file's `url` or parts, the default.
fn database(
    flags: &Flags,
    env: &Environment,
    layers: &Layers<'_>,
) -> Result<Database, SettingsError> {
    let given = match &flags.database_url {
        Some(url) => Some(Sourced::new(url.clone(), Source::Flag("--database-url"))),
        None => env.get("DATABASE_URL")?,
    };
    if let Some(url) = given {
        return Ok(Database {
            url: url.map(SecretUrl::new),
            parts: Vec::new(),
        });
    }
    match from_file(env, layers)? {
        Some(db) => Ok(db),
        None => Ok(Database {
            url: Sourced::default_value(SecretUrl::new(DEFAULT_DATABASE_URL)),
            parts: Vec::new(),
        }),
    }
}

/// Keys that compose a URL from parts.
const PART_KEYS: &[&str] = &[
    "dialect",
    "driver",
    "username",
    "password",
    "password_env",
    "host",
    "hosts",
    "port",
    "database",
];

/// Driver names accepted for compatibility with the original SQLAlchemy settings; the
/// toolkit always uses sqlx.
const KNOWN_DRIVERS: &[&str] = &[
    "sqlx",
    "pymysql",
    "mysqldb",
    "mysqlconnector",
    "mariadbconnector",
    "psycopg2",
    "psycopg",
    "asyncpg",
    "pg8000",
    "pysqlite",
];

fn from_file(env: &Environment, layers: &Layers<'_>) -> Result<Option<Database>, SettingsError> {
    // The most specific table that says anything about the database decides between a whole
    // `url` and parts; both in one table is ambiguous.
    let Some(table) = layers
        .tables
        .iter()
        .copied()
        .find(|t| t.sets_any(&["url"]) || t.sets_any(PART_KEYS))
    else {
        return Ok(None);
    };
    if table.sets_any(&["url"]) {
        let url = table.get("url")?;
        if table.sets_any(PART_KEYS) {
            let line = url.map_or(table.line, |e| e.line);
            return Err(layers.fail(
                table,
                line,
                "sets both `url` and database parts (dialect, host, …); use one",
            ));
        }
        return Ok(url.and_then(|e| match &e.value {
            Value::Secret(s) => Some(Database {
                url: Sourced::new(SecretUrl::new(s.expose()), layers.source(table, e.line)),
                parts: Vec::new(),
            }),
            _ => None,
        }));
    }
    // Parts, merged key by key across the layers (which hold no `url` above this table).
    let header = layers.source(table, table.line);
    let missing = |key: &str| {
        layers.fail(
            table,
            table.line,
            format!("`{key}` is missing: with database parts, set {key} (or a whole `url`)"),
        )
    };
    let mut parts = Vec::new();
    let dialect_name = required(layers, &mut parts, "dialect", &missing)?;
    let Some(dialect) = Dialect::from_name(&dialect_name) else {
        let (t, e, _) = text(layers, "dialect")?.ok_or_else(|| missing("dialect"))?;
        return Err(layers.fail(
            t,
            e.line,
            format!(
                "unknown dialect {}: expected {}",
                crate::quote::quoted(&dialect_name),
                Dialect::EXPECTED
            ),
        ));
    };
    if let Some((t, e, driver)) = text(layers, "driver")? {
        if !KNOWN_DRIVERS.contains(&driver) {
            return Err(layers.fail(
                t,
                e.line,
                format!(
                    "unknown driver {}: expected one of {}",
                    crate::quote::quoted(driver),
                    KNOWN_DRIVERS.join(", ")
                ),
            ));
        }
        parts.push(Part {
            key: "driver",
            shown: format!("{driver} (sqlx is used)"),
            source: layers.source(t, e.line),
        });
    }
    let database = required(layers, &mut parts, "database", &missing)?;
    if dialect == Dialect::Sqlite {
        return Ok(Some(Database {
            url: Sourced::new(
                SecretUrl::new(format!("sqlite://{database}?mode=rwc")),
                header,
            ),
            parts,
        }));
    }
    let hosts = hosts(layers, &mut parts, &missing)?;
    let username = required(layers, &mut parts, "username", &missing)?;
    let port = match layers.find("port")? {
        Some((t, e)) => {
            let p = number(&e.value).and_then(|n| u16::try_from(n).ok());
            parts.push(Part {
                key: "port",
                shown: p.map_or_else(String::new, |p| p.to_string()),
                source: layers.source(t, e.line),
            });
            p
        }
        None => None,
    };
    let password = password(env, layers, &mut parts)?;

    let scheme = dialect.scheme();
    let mut url = url::Url::parse(&format!("{scheme}://placeholder"))
        .map_err(|e| SettingsError::Invalid(format!("internal error composing the URL: {e}")))?;
    let bad = |key: &str, what: &str| {
        layers.fail(
            table,
            table.line,
            format!("`{key}` cannot be used in a URL: {what}"),
        )
    };
    // Each host checked on its own, then the list written as the URL's authority.
    let mut authority = Vec::with_capacity(hosts.len());
    for (host, own_port) in &hosts {
        url.set_host(Some(host))
            .map_err(|e| bad(hosts_key(&hosts), &e.to_string()))?;
        url.set_port(own_port.or(port).or(dialect.default_port()))
            .map_err(|()| bad("port", "invalid port"))?;
        authority.push(match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => return Err(bad(hosts_key(&hosts), "no host")),
        });
    }
    // Encoded here, not by `set_password`, which leaves `%` alone (it takes `%40` to be an
    // already encoded `@`); sqlx decodes both again.
    url.set_username(&userinfo(&username))
        .map_err(|()| bad("username", "invalid"))?;
    if let Some(secret) = &password {
        url.set_password(Some(&userinfo(secret.expose())))
            .map_err(|()| bad("password", "invalid"))?;
    }
    url.set_path(&format!("/{database}"));
    let mut composed = url.to_string();
    if authority.len() > 1 {
        // `scheme://user:pw@` + `h1:p1,h2:p2` + `/database`: the url crate holds one host.
        let start = composed.find("://").map_or(0, |i| i + 3);
        let start = composed[start..]
            .find('@')
            .map_or(start, |at| start + at + 1);
        let end = composed[start..]
            .find('/')
            .map_or(composed.len(), |i| start + i);
        composed.replace_range(start..end, &authority.join(","));
    }
    Ok(Some(Database {
        url: Sourced::new(SecretUrl::new(composed), header),
        parts,
    }))
}

/// The key that named the hosts, for messages.
fn hosts_key(hosts: &[(String, Option<u16>)]) -> &'static str {
    if hosts.len() > 1 { "hosts" } else { "host" }
}

/// `host`, or `hosts` (each with its own port, if it gives one), whichever the more specific
/// table sets; both in one table is ambiguous. Records the part shown by `cli config`.
fn hosts(
    layers: &Layers<'_>,
    parts: &mut Vec<Part>,
    missing: &dyn Fn(&str) -> SettingsError,
) -> Result<Vec<(String, Option<u16>)>, SettingsError> {
    let one = layers.find("host")?;
    let list = layers.find("hosts")?;
    let use_list = match (one, list) {
        (Some((t1, _)), Some((t2, e2))) if std::ptr::eq(t1, t2) => {
            return Err(layers.fail(t2, e2.line, "sets both `host` and `hosts`; use one"));
        }
        (Some((t1, _)), Some((t2, _))) => {
            // The table listed first is the more specific one.
            let rank = |t: &Table| layers.tables.iter().position(|x| std::ptr::eq(*x, t));
            rank(t2) < rank(t1)
        }
        (None, Some(_)) => true,
        _ => false,
    };
    if !use_list {
        let host = required(layers, parts, "host", missing)?;
        return Ok(vec![(host, None)]);
    }
    let Some((t, e)) = list else {
        return Err(missing("host"));
    };
    let Value::Hosts(entries) = &e.value else {
        return Err(layers.fail(t, e.line, "`hosts` has the wrong type"));
    };
    let hosts = entries
        .iter()
        .filter_map(|entry| crate::file::split_host_entry(entry))
        .map(|(h, p)| (h.to_owned(), p))
        .collect();
    parts.push(Part {
        key: "hosts",
        shown: entries.join(", "),
        source: layers.source(t, e.line),
    });
    Ok(hosts)
}

/// A text part that must be set: records it and its source in `parts`, or fails naming it.
fn required(
    layers: &Layers<'_>,
    parts: &mut Vec<Part>,
    key: &'static str,
    missing: &dyn Fn(&str) -> SettingsError,
) -> Result<String, SettingsError> {
    let (t, e, value) = text(layers, key)?.ok_or_else(|| missing(key))?;
    parts.push(Part {
        key,
        shown: value.to_owned(),
        source: layers.source(t, e.line),
    });
    Ok(value.to_owned())
}

/// `password` or `password_env`, whichever the more specific table sets.
fn password(
    env: &Environment,
    layers: &Layers<'_>,
    parts: &mut Vec<Part>,
) -> Result<Option<Secret>, SettingsError> {
    Ok(
        secret_or_env(env, layers, "password", "password_env")?.map(|(secret, source, shown)| {
            parts.push(Part {
                key: "password",
                shown,
                source,
            });
            secret
        }),
    )
}

/// A secret set directly (`key`) or by naming an environment variable (`env_key`), whichever
/// the more specific table sets; with where it came from and how `cli config` shows it.
fn secret_or_env(
    env: &Environment,
    layers: &Layers<'_>,
    key: &str,
    env_key: &str,
) -> Result<Option<(Secret, Source, String)>, SettingsError> {
    let direct = secret(layers, key)?;
    let named = text(layers, env_key)?;
    let rank = |name: &str| layers.tables.iter().position(|t| t.name == name);
    let use_env = match (&direct, &named) {
        (Some((t1, _, _)), Some((t2, e, _))) if t1.name == t2.name => {
            return Err(layers.fail(
                t1,
                e.line,
                format!("sets both `{key}` and `{env_key}`; use one"),
            ));
        }
        (Some((t1, _, _)), Some((t2, _, _))) => rank(t2.name) < rank(t1.name),
        (None, Some(_)) => true,
        _ => false,
    };
    if use_env {
        let Some((t, e, var)) = named else {
            return Ok(None);
        };
        let Some(value) = env.get(var)? else {
            return Err(layers.fail(
                t,
                e.line,
                format!("{env_key} names `{var}`, which is not set in the environment"),
            ));
        };
        let shown = format!("*** ({})", value.source);
        return Ok(Some((
            Secret::new(value.value),
            layers.source(t, e.line),
            shown,
        )));
    }
    Ok(direct.map(|(t, e, s)| (s.clone(), layers.source(t, e.line), "***".to_owned())))
}

/// The session store's settings; every key has Flask-Session's default.
fn sessions(layers: &Layers<'_>) -> Result<SessionSettings, SettingsError> {
    let session_type = pick(
        None,
        layers,
        "session_type",
        |v| match v {
            Value::Text(name) => SessionType::from_name(&name.to_ascii_lowercase()),
            _ => None,
        },
        SessionType::Sql,
    )?;
    let url = secret(layers, "session_url")?
        .map(|(t, e, s)| Sourced::new(SecretUrl::new(s.expose()), layers.source(t, e.line)));
    let text_or = |key: &str, default: &str| {
        pick(
            None,
            layers,
            key,
            |v| match v {
                Value::Text(s) => Some(s.clone()),
                _ => None,
            },
            default.to_owned(),
        )
    };
    let absolute_lifetime = match layers.find("session_absolute_lifetime")? {
        Some((t, e)) => number(&e.value).map(|n| Sourced::new(n, layers.source(t, e.line))),
        None => None,
    };
    Ok(SessionSettings {
        session_type,
        url,
        dir: text_or("session_dir", DEFAULT_SESSION_DIR)?.map(PathBuf::from),
        key_prefix: text_or("session_key_prefix", DEFAULT_SESSION_KEY_PREFIX)?,
        lifetime: pick(
            None,
            layers,
            "permanent_session_lifetime",
            number,
            DEFAULT_SESSION_LIFETIME,
        )?,
        absolute_lifetime,
        max_bytes: pick(
            None,
            layers,
            "session_max_bytes",
            number,
            DEFAULT_SESSION_MAX_BYTES,
        )?,
    })
}

/// The session cookie's settings; `Secure` is on by default under the production profile.
fn cookie(
    env: &Environment,
    layers: &Layers<'_>,
    profile: Profile,
) -> Result<CookieSettings, SettingsError> {
    let secret_key = secret_or_env(env, layers, "secret_key", "secret_key_env")?
        .map(|(secret, source, _)| Sourced::new(secret, source));
    let name = pick(
        None,
        layers,
        "session_cookie_name",
        |v| match v {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        },
        DEFAULT_SESSION_COOKIE_NAME.to_owned(),
    )?;
    if name.value.is_empty()
        || !name
            .value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    {
        return Err(SettingsError::Invalid(format!(
            "`session_cookie_name` {} ({}) is not a valid cookie name: use letters, digits and - _ .",
            crate::quote::quoted(&name.value),
            name.source
        )));
    }
    Ok(CookieSettings {
        secret_key,
        name,
        secure: pick(
            None,
            layers,
            "session_cookie_secure",
            |v| match v {
                Value::Flag(b) => Some(*b),
                _ => None,
            },
            profile.is_production(),
        )?,
        same_site: pick(
            None,
            layers,
            "session_cookie_samesite",
            |v| match v {
                Value::Text(s) => SameSite::from_name(s),
                _ => None,
            },
            SameSite::Lax,
        )?,
    })
}

/// Everything but RFC 3986's unreserved characters, so any user name or password survives.
const USERINFO: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn userinfo(raw: &str) -> String {
    percent_encoding::utf8_percent_encode(raw, USERINFO).to_string()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> Environment {
        Environment::new(
            move |name| {
                Ok(vars
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned()))
            },
            Path::new("/nonexistent/.env"),
        )
    }

    fn resolve_text(
        text: &str,
        profile: &str,
        vars: &'static [(&'static str, &'static str)],
    ) -> Resolution {
        let file = SettingsFile::parse(Path::new("settings.toml"), text);
        let flags = Flags {
            profile: Some(profile.to_owned()),
            ..Flags::default()
        };
        Resolution::resolve_with(&flags, &env(vars), Some(Ok(file)))
    }

    const ORIGINAL: &str = r#"
[default]
dialect = "mysql"
driver = "pymysql"
username = "mhh123"
password = "p@ss:w/rd#1%"
host = "127.0.0.1"
port = 3306
database = "my_flask"

[test]
database = "my_flask_test"
connect_timeout = 9

[product]
password_env = "STUDENTS_TEST_SECRET"
echo = true
"#;

    #[test]
    fn parts_compose_a_percent_encoded_url() {
        let r = resolve_text(ORIGINAL, "develop", &[])
            .into_settings()
            .unwrap();
        assert_eq!(
            r.database.url.value.expose(),
            "mysql://mhh123:p%40ss%3Aw%2Frd%231%25@127.0.0.1:3306/my_flask"
        );
        assert_eq!(
            r.database.url.source.to_string(),
            "settings.toml:2 [default]"
        );
        let password = r
            .database
            .parts
            .iter()
            .find(|p| p.key == "password")
            .unwrap();
        assert_eq!(password.shown, "***");
    }

    #[test]
    fn hosts_compose_a_url_with_a_host_list() {
        let text = "[default]\ndialect = \"mysql\"\nusername = \"app\"\npassword = \"p@ss\"\nhost = \"db\"\ndatabase = \"school\"\n\n[test]\nhosts = [\"127.0.0.1:4306\", \"127.0.0.1:4307\", \"node3\"]\nport = 4308\n";
        let r = resolve_text(text, "test", &[]).into_settings().unwrap();
        assert_eq!(
            r.database.url.value.expose(),
            "mysql://app:p%40ss@127.0.0.1:4306,127.0.0.1:4307,node3:4308/school"
        );
        let shown = r.database.url.value.to_string();
        assert!(
            !shown.contains("p%40ss") && shown.contains("127.0.0.1:4307"),
            "{shown}"
        );
        let part = r.database.parts.iter().find(|p| p.key == "hosts").unwrap();
        assert_eq!(part.shown, "127.0.0.1:4306, 127.0.0.1:4307, node3");
        assert_eq!(part.source.to_string(), "settings.toml:9 [test]");
        // The develop profile still reads [default]'s single host.
        let r = resolve_text(text, "develop", &[]).into_settings().unwrap();
        assert_eq!(
            r.database.url.value.expose(),
            "mysql://app:p%40ss@db:3306/school"
        );
    }

    #[test]
    fn bad_hosts_are_refused_naming_the_key() {
        for (value, expected) in [
            (
                "[\"h:1\", \"h:99999\"]",
                "must list \"host\" or \"host:port\" strings",
            ),
            ("[\"a,b\"]", "must list \"host\" or \"host:port\" strings"),
            ("[]", "must list at least one"),
            ("\"h1:1,h2:2\"", "must be a list such as"),
        ] {
            let text = format!(
                "[default]\ndialect = \"mysql\"\nusername = \"u\"\ndatabase = \"d\"\nhosts = {value}\n"
            );
            let file = SettingsFile::parse(Path::new("settings.toml"), &text);
            let r = Resolution::resolve_with(&Flags::default(), &env(&[]), Some(Ok(file)));
            let err = r.database.unwrap_err().to_string();
            assert!(
                err.contains("`hosts`") && err.contains(expected),
                "{value}: {err}"
            );
        }
        let both = "[default]\ndialect = \"mysql\"\nusername = \"u\"\ndatabase = \"d\"\nhost = \"h\"\nhosts = [\"h:1\"]\n";
        let err = resolve_text(both, "develop", &[])
            .database
            .unwrap_err()
            .to_string();
        assert!(err.contains("sets both `host` and `hosts`"), "{err}");
    }

    #[test]
    fn a_profile_overrides_default_key_by_key() {
        let r = resolve_text(ORIGINAL, "test", &[]).into_settings().unwrap();
        assert!(r.database.url.value.expose().ends_with("/my_flask_test"));
        assert_eq!(r.connect_timeout.value, 9);
        assert_eq!(
            r.connect_timeout.source.to_string(),
            "settings.toml:13 [test]"
        );
        assert!(!r.echo.value);
    }

    #[test]
    fn password_env_reads_the_environment_and_wins_over_default() {
        let r = resolve_text(ORIGINAL, "product", &[("STUDENTS_TEST_SECRET", "from env")])
            .into_settings()
            .unwrap();
        assert!(r.database.url.value.expose().contains(":from%20env@"));
        assert!(r.echo.value);
        let err = resolve_text(ORIGINAL, "product", &[])
            .into_settings()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "settings.toml:16: [product] password_env names `STUDENTS_TEST_SECRET`, which is not set in the environment"
        );
    }

    #[test]
    fn no_file_and_no_url_is_the_embedded_default() {
        let r = Settings::resolve(&Flags::default(), &env(&[])).unwrap();
        assert_eq!(r.database.url.value.expose(), DEFAULT_DATABASE_URL);
        assert_eq!(r.database.url.source, Source::Default);
        assert_eq!(r.profile.value, Profile::Develop);
    }

    #[test]
    fn flags_and_environment_come_before_the_file() {
        let flags = Flags {
            connect_timeout: Some(3),
            echo: true,
            ..Flags::default()
        };
        let r = Settings::resolve(
            &flags,
            &env(&[("DATABASE_URL", "sqlite://x.db"), ("APP_ENV", "test")]),
        )
        .unwrap();
        assert_eq!(r.database.url.value.expose(), "sqlite://x.db");
        assert_eq!(r.database.url.source, Source::Env("DATABASE_URL".into()));
        assert_eq!((r.connect_timeout.value, r.echo.value), (3, true));
        assert_eq!(r.profile.value, Profile::Test);
        assert_eq!(r.profile.source.to_string(), "environment APP_ENV");
    }

    fn first_error(text: &str, profile: &str) -> String {
        resolve_text(text, profile, &[])
            .into_settings()
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let unknown_key = first_error(
            "[default]\nurl = \"sqlite://a.db\"\nhots = \"x\"\n",
            "develop",
        );
        assert_eq!(unknown_key, "settings.toml:3: [default] unknown key `hots`");
        let wrong_type = first_error("[default]\nport = \"3306\"\n", "develop");
        assert_eq!(
            wrong_type,
            "settings.toml:2: [default] `port` must be a whole number from 1 to 65535, not the string `3306`"
        );
        let unknown_table = first_error("[staging]\nurl = \"x\"\n", "develop");
        assert!(
            unknown_table.contains("unknown table [staging]"),
            "{unknown_table}"
        );
        let missing = first_error(
            "[default]\ndialect = \"mysql\"\nusername = \"u\"\ndatabase = \"d\"\n",
            "develop",
        );
        assert!(
            missing.starts_with("settings.toml:1: [default] `host` is missing"),
            "{missing}"
        );
        let both = first_error(
            "[default]\nurl = \"sqlite://a.db\"\nhost = \"h\"\n",
            "develop",
        );
        assert!(both.contains("both `url` and database parts"), "{both}");
        // A broken value in a table this profile does not read is still an error.
        let other = first_error("[product]\nport = 0\n", "develop");
        assert!(
            other.starts_with("settings.toml:2: [product] `port`"),
            "{other}"
        );
    }

    #[test]
    fn errors_never_contain_a_password_however_it_is_written() {
        for text in [
            "[default]\npassword = 987654321\n",
            "default.password = 987654321\n",
            "default = { password = 987654321 }\n",
            "[default]\n'password' = 987654321\n",
            "[default]\n\"password\" = 987654321.5\n",
            "[default]\nurl = 987654321\n",
        ] {
            let err = first_error(text, "develop");
            assert!(!err.contains("987654321"), "{text:?} → {err}");
            assert!(err.contains("must be a string"), "{text:?} → {err}");
        }
        // A syntax error on the password line is reported as one, without the line.
        let err = first_error("[default]\npassword = hunter2hunter2\n", "develop");
        assert!(err.starts_with("settings.toml:2: syntax error"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn sessions_default_to_flask_session_and_follow_the_profile() {
        let r = Settings::resolve(&Flags::default(), &env(&[])).unwrap();
        assert_eq!(r.sessions.session_type.value, SessionType::Sql);
        assert_eq!(r.sessions.lifetime.value, 31 * 24 * 3600);
        assert_eq!(r.sessions.key_prefix.value, "session:");
        assert!(r.sessions.url.is_none() && r.cookie.secret_key.is_none());
        assert!(!r.cookie.secure.value);
        let text = "[default]\nsession_type = \"Redis\"\nsession_url = \"redis://:pw@h:6379/0\"\n\
                    permanent_session_lifetime = 60\nsecret_key = \"k\"\n\
                    [product]\nsecret_key_env = \"KEY_VAR\"\n";
        let p = resolve_text(text, "product", &[("KEY_VAR", "from-env")])
            .into_settings()
            .unwrap();
        assert_eq!(p.sessions.session_type.value, SessionType::Redis);
        assert_eq!(
            p.sessions.url.as_ref().unwrap().value.to_string(),
            "redis://:***@h:6379/0"
        );
        assert_eq!(
            p.cookie.secret_key.as_ref().unwrap().value.expose(),
            "from-env"
        );
        assert!(p.cookie.secure.value, "Secure by default under product");
        let bad = first_error("[default]\nsession_type = \"pickle\"\n", "develop");
        assert!(
            bad.contains("`session_type` must be one of sql, sqlalchemy, redis"),
            "{bad}"
        );
    }

    #[test]
    fn a_broken_value_does_not_hide_the_others() {
        let r = resolve_text(
            "[default]\nurl = \"sqlite://a.db\"\nconnect_timeout = 0\necho = true\n",
            "develop",
            &[],
        );
        assert!(r.database.is_ok());
        assert!(r.echo.as_ref().unwrap().value);
        let err = r.connect_timeout.unwrap_err().to_string();
        assert!(err.starts_with("settings.toml:3: [default] `connect_timeout` must be a whole number from 1 to 3600 seconds"), "{err}");
    }
}
