//! The settings file: a `[default]` table and one table per profile, every key typed and
//! checked here so each error names its file, line, table and key, and never a secret.

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::error::SettingsError;
use crate::profile::Profile;
use crate::quote::quoted;
use crate::secret::Secret;
use crate::session::SameSite;
use crate::source::Source;

/// The settings file read when present in the current directory and no other is named.
pub const DEFAULT_FILE: &str = "settings.toml";

/// The table every profile falls back to, key by key.
pub(crate) const DEFAULT_TABLE: &str = "default";

/// What a key holds.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// Any string.
    Text,
    /// A string that is never shown: passwords, keys, URLs that may hold a password.
    Secret,
    /// A whole number in a range, with the unit named in messages.
    Number(RangeInclusive<i64>, &'static str),
    /// `true` or `false`.
    Flag,
    /// One of a few names.
    Choice(&'static [&'static str]),
    /// A list of `host` or `host:port` strings (a cluster's nodes, tried in order).
    Hosts,
}

/// One key the file may set.
#[derive(Debug)]
pub(crate) struct Key {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
}

const fn key(name: &'static str, kind: Kind) -> Key {
    Key { name, kind }
}

/// Every key of a table. Anything else is an error naming it.
pub(crate) const KEYS: &[Key] = &[
    key("url", Kind::Secret),
    key("dialect", Kind::Text),
    key("driver", Kind::Text),
    key("username", Kind::Text),
    key("password", Kind::Secret),
    key("password_env", Kind::Text),
    key("host", Kind::Text),
    key("hosts", Kind::Hosts),
    key("port", Kind::Number(1..=65_535, "")),
    key("database", Kind::Text),
    key("echo", Kind::Flag),
    key("connect_timeout", Kind::Number(1..=3_600, " seconds")),
    key("busy_timeout", Kind::Number(0..=86_400, " seconds")),
    key("secret_key", Kind::Secret),
    key("secret_key_env", Kind::Text),
    key("session_type", Kind::Choice(SESSION_TYPES)),
    key("session_url", Kind::Secret),
    key("session_dir", Kind::Text),
    key("session_key_prefix", Kind::Text),
    key(
        "permanent_session_lifetime",
        Kind::Number(1..=TEN_YEARS, " seconds"),
    ),
    key(
        "session_absolute_lifetime",
        Kind::Number(1..=TEN_YEARS, " seconds"),
    ),
    key(
        "session_max_bytes",
        Kind::Number(256..=16 * 1024 * 1024, " bytes"),
    ),
    key("session_cookie_name", Kind::Text),
    key("session_cookie_secure", Kind::Flag),
    key("session_cookie_samesite", Kind::Choice(SameSite::NAMES)),
];

/// `session_type` names (`sqlalchemy` is Flask-Session's name of `sql`).
const SESSION_TYPES: &[&str] = &[
    "sql",
    "sqlalchemy",
    "redis",
    "memcached",
    "filesystem",
    "mongodb",
];

/// The longest lifetime accepted, in seconds.
const TEN_YEARS: i64 = 10 * 365 * 24 * 3600;

/// A checked value.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Text(String),
    Secret(Secret),
    Number(i64),
    Flag(bool),
    Hosts(Vec<String>),
}

/// One key as set in one table.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) value: Value,
    pub(crate) line: usize,
}

/// One table of the file.
#[derive(Debug)]
pub(crate) struct Table {
    pub(crate) name: &'static str,
    pub(crate) line: usize,
    entries: Vec<(&'static str, Entry)>,
    broken: Vec<(&'static str, SettingsError)>,
}

impl Table {
    /// The key as this table sets it: `Ok(None)` when unset, `Err` when set but unusable.
    pub(crate) fn get(&self, key: &str) -> Result<Option<&Entry>, SettingsError> {
        if let Some((_, e)) = self.broken.iter().find(|(k, _)| *k == key) {
            return Err(e.clone());
        }
        Ok(self.entries.iter().find(|(k, _)| *k == key).map(|(_, e)| e))
    }

    /// Whether the table sets any of `keys` (broken values count: they were meant to be set).
    pub(crate) fn sets_any(&self, keys: &[&str]) -> bool {
        self.entries.iter().any(|(k, _)| keys.contains(k))
            || self.broken.iter().any(|(k, _)| keys.contains(k))
    }
}

/// A settings file, parsed: its tables, and every problem found in it.
#[derive(Debug)]
pub struct SettingsFile {
    pub(crate) path: PathBuf,
    tables: Vec<Table>,
    /// Problems not tied to a key a profile reads (syntax, unknown tables and keys).
    pub(crate) errors: Vec<SettingsError>,
}

impl SettingsFile {
    /// Reads and parses the file at `path`; only a file that cannot be read is an error here,
    /// problems inside it are kept for whoever reads the keys.
    pub fn read(path: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|e| SettingsError::Unreadable {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Self::parse(path, &text))
    }

    /// Parses `text`, read from `path`.
    pub fn parse(path: &Path, text: &str) -> Self {
        let mut file = SettingsFile {
            path: path.to_owned(),
            tables: Vec::new(),
            errors: Vec::new(),
        };
        let (doc, syntax) = DeTable::parse_recoverable(text);
        for e in syntax {
            let line = e.span().map_or(1, |s| line_of(text, s.start));
            // The message only, never the source line: it may hold a password.
            let message = e.message().lines().next().unwrap_or("").trim().to_owned();
            file.errors
                .push(file.error(line, None, format!("syntax error: {message}")));
        }
        for (name, value) in doc.get_ref().iter() {
            let line = line_of(text, name.span().start);
            let Some(table) = Profile::table_names()
                .into_iter()
                .find(|t| *t == name.get_ref().as_ref())
            else {
                let message = match value.get_ref() {
                    DeValue::Table(_) => format!(
                        "unknown table [{}]; expected [default], [develop], [test] or [product]",
                        quoted(name.get_ref()).trim_matches('`')
                    ),
                    _ => format!(
                        "{} must be inside a table such as [default]",
                        quoted(name.get_ref())
                    ),
                };
                file.errors.push(file.error(line, None, message));
                continue;
            };
            match value.get_ref() {
                DeValue::Table(t) => {
                    let parsed = file.table(table, line, t, text);
                    file.tables.push(parsed);
                }
                _ => file.errors.push(file.error(
                    line,
                    None,
                    format!("`{table}` must be a table: [{table}]"),
                )),
            }
        }
        file.errors.sort_by_key(|e| match e {
            SettingsError::File { line, .. } => *line,
            _ => 0,
        });
        file
    }

    fn error(&self, line: usize, table: Option<&str>, message: String) -> SettingsError {
        SettingsError::File {
            path: self.path.clone(),
            line,
            table: table.map(str::to_owned),
            message,
        }
    }

    fn table(&mut self, name: &'static str, line: usize, t: &DeTable<'_>, text: &str) -> Table {
        let mut table = Table {
            name,
            line,
            entries: Vec::new(),
            broken: Vec::new(),
        };
        for (k, v) in t.iter() {
            let at = line_of(text, v.span().start);
            let Some(key) = KEYS.iter().find(|key| key.name == k.get_ref().as_ref()) else {
                self.errors.push(self.error(
                    line_of(text, k.span().start),
                    Some(name),
                    format!("unknown key {}", quoted(k.get_ref())),
                ));
                continue;
            };
            match check(key, v) {
                Ok(value) => table.entries.push((key.name, Entry { value, line: at })),
                Err(message) => table
                    .broken
                    .push((key.name, self.error(at, Some(name), message))),
            }
        }
        table
    }

    /// The table named `name`, if the file has one.
    pub(crate) fn get_table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// Every table, broken keys included, for checking a whole file.
    pub(crate) fn broken_keys(&self) -> impl Iterator<Item = &SettingsError> {
        self.tables
            .iter()
            .flat_map(|t| t.broken.iter().map(|(_, e)| e))
    }

    /// Where a value from `table` at `line` came from.
    pub(crate) fn source(&self, table: &str, line: usize) -> Source {
        Source::File {
            path: self.path.clone(),
            table: table.to_owned(),
            line,
        }
    }

    /// An error about `table` at `line`.
    pub(crate) fn fail(
        &self,
        table: &str,
        line: usize,
        message: impl Into<String>,
    ) -> SettingsError {
        self.error(line, Some(table), message.into())
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Checks one value against its key's kind; the message names the key, and the value only
/// when it is not a secret.
fn check(key: &Key, v: &Spanned<DeValue<'_>>) -> Result<Value, String> {
    let name = key.name;
    let shown = || describe(v.get_ref());
    match (&key.kind, v.get_ref()) {
        (Kind::Text, DeValue::String(s)) => Ok(Value::Text(s.to_string())),
        (Kind::Secret, DeValue::String(s)) => Ok(Value::Secret(Secret::new(s.to_string()))),
        (Kind::Secret, _) => Err(format!("`{name}` must be a string")),
        (Kind::Text, _) => Err(format!("`{name}` must be a string, not {}", shown())),
        (Kind::Flag, DeValue::Boolean(b)) => Ok(Value::Flag(*b)),
        (Kind::Flag, _) => Err(format!("`{name}` must be true or false, not {}", shown())),
        (Kind::Choice(names), DeValue::String(s))
            if names.iter().any(|n| n.eq_ignore_ascii_case(s)) =>
        {
            Ok(Value::Text(s.to_string()))
        }
        (Kind::Hosts, DeValue::Array(items)) => {
            let mut hosts = Vec::with_capacity(items.len());
            for item in items.iter() {
                match item.get_ref() {
                    DeValue::String(h) if host_entry_ok(h) => hosts.push(h.to_string()),
                    other => {
                        return Err(format!(
                            "`{name}` must list \"host\" or \"host:port\" strings (a port from 1 to 65535), not {}",
                            describe(other)
                        ));
                    }
                }
            }
            if hosts.is_empty() {
                return Err(format!("`{name}` must list at least one \"host:port\""));
            }
            Ok(Value::Hosts(hosts))
        }
        (Kind::Hosts, _) => Err(format!(
            "`{name}` must be a list such as [\"10.0.0.1:3306\", \"10.0.0.2:3306\"], not {}",
            shown()
        )),
        (Kind::Choice(names), _) => Err(format!(
            "`{name}` must be one of {}, not {}",
            names.join(", "),
            shown()
        )),
        (Kind::Number(range, unit), value) => {
            let n = match value {
                DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
                _ => None,
            };
            match n {
                Some(n) if range.contains(&n) => Ok(Value::Number(n)),
                _ => Err(format!(
                    "`{name}` must be a whole number from {} to {}{unit}, not {}",
                    range.start(),
                    range.end(),
                    shown()
                )),
            }
        }
    }
}

/// Whether `entry` is `host`, `host:port` or `[ipv6]:port`, with a port from 1 to 65535.
pub(crate) fn host_entry_ok(entry: &str) -> bool {
    split_host_entry(entry).is_some()
}

/// `(host, port)` of a `hosts` entry, or `None` when it is not one.
pub(crate) fn split_host_entry(entry: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = match entry.strip_prefix('[') {
        Some(rest) => {
            let (inside, after) = rest.split_once(']')?;
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':')?),
            };
            (&entry[..inside.len() + 2], port)
        }
        None => match entry.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (entry, None),
        },
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_[]:".contains(&b))
        && (host.starts_with('[') || !host.contains(':'));
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => return None,
        },
    };
    host_ok.then_some((host, port))
}

/// A non-secret value as messages show it: its type and, for scalars, itself (quoted safely).
fn describe(v: &DeValue<'_>) -> String {
    match v {
        DeValue::String(s) => format!("the string {}", quoted(s)),
        DeValue::Integer(i) => quoted(i.as_str()),
        DeValue::Float(f) => quoted(f.as_str()),
        DeValue::Boolean(b) => format!("`{b}`"),
        DeValue::Datetime(_) => "a date".to_owned(),
        DeValue::Array(_) => "an array".to_owned(),
        DeValue::Table(_) => "a table".to_owned(),
    }
}

/// 1-based line of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}
