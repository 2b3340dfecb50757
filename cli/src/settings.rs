//! Settings: the TOML file with its `[default]` and per-profile tables, and where every
//! value in force came from.
//!
//! Precedence, highest first: `--database-url`, `DATABASE_URL` (environment, then `.env`),
//! the chosen profile's table, the `[default]` table, the embedded SQLite default.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

/// The profiles of the original `settings.py`; `develop` is used when none is chosen.
pub const PROFILES: [&str; 3] = ["develop", "test", "product"];

/// The profile under which destructive commands need an explicit `--yes`.
pub const PRODUCTION_PROFILE: &str = "product";

/// The settings file read when present in the current directory and no `--config` is given.
pub const DEFAULT_FILE: &str = "settings.toml";

/// A settings file that cannot be used, with the file, line and key at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError(pub String);

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a value in force came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag(&'static str),
    Env(&'static str),
    DotEnv(&'static str),
    File {
        path: PathBuf,
        table: String,
        line: usize,
    },
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => write!(f, "flag {flag}"),
            Source::Env(var) => write!(f, "environment {var}"),
            Source::DotEnv(var) => write!(f, ".env {var}"),
            Source::File { path, table, line } => write!(f, "{}:{line} [{table}]", path.display()),
            Source::Default => write!(f, "default"),
        }
    }
}

/// One table of the file: every key optional, none unknown.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    url: Option<Spanned<String>>,
    dialect: Option<Spanned<String>>,
    driver: Option<Spanned<String>>,
    username: Option<Spanned<String>>,
    password: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    host: Option<Spanned<String>>,
    port: Option<Spanned<u16>>,
    database: Option<Spanned<String>>,
    echo: Option<Spanned<bool>>,
    connect_timeout: Option<Spanned<u64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    default: Option<Spanned<Table>>,
    develop: Option<Spanned<Table>>,
    test: Option<Spanned<Table>>,
    product: Option<Spanned<Table>>,
}

/// A settings file, parsed and checked for unknown keys and wrong types.
#[derive(Debug)]
pub struct SettingsFile {
    path: PathBuf,
    text: String,
    file: File,
}

impl SettingsFile {
    /// Parses `text`, read from `path`.
    pub fn parse(path: &Path, text: String) -> Result<Self, SettingsError> {
        let file: File = toml::from_str(&text).map_err(|e| {
            let at = e.span().map(|span| line_of(&text, span.start)).unwrap_or(1);
            let message = e.message().trim().replace('\n', " ");
            // toml's messages name the value but not the key: name the key from the line,
            // and never repeat a value that may be a secret.
            let key = text
                .lines()
                .nth(at - 1)
                .and_then(|line| line.split_once('='))
                .map(|(key, _)| key.trim().trim_matches('"').to_owned());
            let message = match key.as_deref() {
                Some(key @ ("password" | "url")) => format!("`{key}` must be a string"),
                Some(key) if !key.is_empty() && !message.contains(&format!("`{key}`")) => {
                    format!("`{key}`: {message}")
                }
                _ => message,
            };
            SettingsError(format!("{}:{at}: {message}", path.display()))
        })?;
        Ok(SettingsFile {
            path: path.to_owned(),
            text,
            file,
        })
    }

    /// Reads and parses the file at `path`.
    pub fn read(path: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            SettingsError(format!(
                "cannot read settings file `{}`: {e}",
                path.display()
            ))
        })?;
        Self::parse(path, text)
    }

    fn table(&self, name: &str) -> Option<&Spanned<Table>> {
        match name {
            "default" => self.file.default.as_ref(),
            "develop" => self.file.develop.as_ref(),
            "test" => self.file.test.as_ref(),
            "product" => self.file.product.as_ref(),
            _ => None,
        }
    }

    fn source(&self, table: &str, span: Range<usize>) -> Source {
        Source::File {
            path: self.path.clone(),
            table: table.to_owned(),
            line: line_of(&self.text, span.start),
        }
    }

    fn fail(&self, table: &str, span: Range<usize>, message: impl fmt::Display) -> SettingsError {
        SettingsError(format!(
            "{}:{}: [{table}] {message}",
            self.path.display(),
            line_of(&self.text, span.start)
        ))
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// A value in force and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

/// The database URL in force and, when it was composed from parts, those parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUrl {
    pub url: Sourced<String>,
    /// `(key, shown value, source)`; passwords are shown as `***`.
    pub parts: Parts,
}

/// Everything the CLI needs from its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub profile: Sourced<String>,
    pub file: Option<PathBuf>,
    pub database: ResolvedUrl,
    pub echo: Sourced<bool>,
    pub connect_timeout: Sourced<u64>,
}

/// What the command line and the environment say, before the file is consulted.
#[derive(Debug, Default)]
pub struct Inputs {
    pub profile: Option<Sourced<String>>,
    pub url: Option<Sourced<String>>,
    pub echo_flag: bool,
    pub connect_timeout_flag: Option<u64>,
    /// Reads an environment variable (`password_env`); a parameter, for tests.
    pub env: Option<fn(&str) -> Option<String>>,
}

/// Merges the inputs with the file (when there is one) into the settings in force.
pub fn resolve(inputs: &Inputs, file: Option<&SettingsFile>) -> Result<Resolved, SettingsError> {
    let profile = inputs.profile.clone().unwrap_or(Sourced {
        value: "develop".to_owned(),
        source: Source::Default,
    });
    if !PROFILES.contains(&profile.value.as_str()) {
        let place = file
            .map(|f| format!(" (settings file `{}`)", f.path.display()))
            .unwrap_or_default();
        return Err(SettingsError(format!(
            "unknown profile `{}` from {}{place}: expected one of {}",
            profile.value,
            profile.source,
            PROFILES.join(", ")
        )));
    }
    // Key by key: the profile's table over `[default]`.
    let layers: Vec<(&str, &Table)> = match file {
        Some(f) => [profile.value.as_str(), "default"]
            .into_iter()
            .filter_map(|name| f.table(name).map(|t| (name, t.get_ref())))
            .collect(),
        None => Vec::new(),
    };
    let echo = if inputs.echo_flag {
        Sourced {
            value: true,
            source: Source::Flag("-v"),
        }
    } else if let (Some(f), Some((table, v))) = (file, first(&layers, |t| &t.echo)) {
        Sourced {
            value: *v.get_ref(),
            source: f.source(table, v.span()),
        }
    } else {
        Sourced {
            value: false,
            source: Source::Default,
        }
    };

    let connect_timeout = if let Some(secs) = inputs.connect_timeout_flag {
        Sourced {
            value: secs,
            source: Source::Flag("--connect-timeout"),
        }
    } else if let (Some(f), Some((table, v))) = (file, first(&layers, |t| &t.connect_timeout)) {
        if *v.get_ref() == 0 || *v.get_ref() > 3600 {
            return Err(f.fail(
                table,
                v.span(),
                format!(
                    "connect_timeout = {} is out of range; use 1 to 3600 seconds",
                    v.get_ref()
                ),
            ));
        }
        Sourced {
            value: *v.get_ref(),
            source: f.source(table, v.span()),
        }
    } else {
        Sourced {
            value: service::connect::DEFAULT_CONNECT_TIMEOUT.as_secs(),
            source: Source::Default,
        }
    };

    let database = match (&inputs.url, file) {
        (Some(url), _) => ResolvedUrl {
            url: url.clone(),
            parts: Vec::new(),
        },
        (None, Some(f)) => match url_from_file(f, &layers, inputs.env)? {
            Some(resolved) => resolved,
            None => default_url(),
        },
        (None, None) => default_url(),
    };

    Ok(Resolved {
        profile,
        file: file.map(|f| f.path.clone()),
        database,
        echo,
        connect_timeout,
    })
}

/// The most specific table that sets a key, and the key's value: key-by-key overriding.
fn first<'a, T>(
    layers: &[(&'a str, &'a Table)],
    key: impl Fn(&'a Table) -> &'a Option<Spanned<T>>,
) -> Option<(&'a str, &'a Spanned<T>)> {
    layers
        .iter()
        .find_map(|(name, t)| key(t).as_ref().map(|v| (*name, v)))
}

fn default_url() -> ResolvedUrl {
    ResolvedUrl {
        url: Sourced {
            value: service::DEFAULT_DATABASE_URL.to_owned(),
            source: Source::Default,
        },
        parts: Vec::new(),
    }
}

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

fn url_from_file(
    f: &SettingsFile,
    layers: &[(&str, &Table)],
    env: Option<fn(&str) -> Option<String>>,
) -> Result<Option<ResolvedUrl>, SettingsError> {
    // The most specific table that says anything about the database decides between a whole
    // `url` and parts; both in one table is ambiguous.
    let Some((table_name, table)) = layers.iter().find(|(_, t)| t.url.is_some() || has_parts(t))
    else {
        return Ok(None);
    };
    if let Some(url) = &table.url {
        if has_parts(table) {
            return Err(f.fail(
                table_name,
                url.span(),
                "sets both `url` and database parts (dialect, host, …); use one",
            ));
        }
        return Ok(Some(ResolvedUrl {
            url: Sourced {
                value: url.get_ref().clone(),
                source: f.source(table_name, url.span()),
            },
            parts: Vec::new(),
        }));
    }
    // Parts, merged key by key across the layers (which hold no `url` above this table).
    let header = f.table(table_name).map(|t| t.span()).unwrap_or(0..0);
    let missing = |key: &str| {
        f.fail(
            table_name,
            header.clone(),
            format!("`{key}` is missing: with database parts, set {key} (or a whole `url`)"),
        )
    };
    let mut parts = Parts::new();

    let (d_table, dialect) = required(
        f,
        &mut parts,
        "dialect",
        first(layers, |t| &t.dialect),
        &missing,
    )?;
    let scheme = match dialect.get_ref().as_str() {
        "mysql" | "mariadb" => "mysql",
        "postgres" | "postgresql" => "postgres",
        "sqlite" => "sqlite",
        other => {
            return Err(f.fail(
                d_table,
                dialect.span(),
                format!("unknown dialect `{other}`: expected mysql, mariadb, postgres or sqlite"),
            ));
        }
    };
    if let Some((t, driver)) = first(layers, |t| &t.driver) {
        if !KNOWN_DRIVERS.contains(&driver.get_ref().as_str()) {
            return Err(f.fail(
                t,
                driver.span(),
                format!(
                    "unknown driver `{}`: expected one of {}",
                    driver.get_ref(),
                    KNOWN_DRIVERS.join(", ")
                ),
            ));
        }
        parts.push((
            "driver",
            format!("{} (sqlx is used)", driver.get_ref()),
            f.source(t, driver.span()),
        ));
    }
    let (_, database) = required(
        f,
        &mut parts,
        "database",
        first(layers, |t| &t.database),
        &missing,
    )?;

    if scheme == "sqlite" {
        let url = format!("sqlite://{}?mode=rwc", database.get_ref());
        return Ok(Some(ResolvedUrl {
            url: Sourced {
                value: url,
                source: f.source(table_name, header),
            },
            parts,
        }));
    }

    let (_, host) = required(f, &mut parts, "host", first(layers, |t| &t.host), &missing)?;
    let (_, username) = required(
        f,
        &mut parts,
        "username",
        first(layers, |t| &t.username),
        &missing,
    )?;
    let port = first(layers, |t| &t.port);
    if let Some((t, p)) = port {
        parts.push(("port", p.get_ref().to_string(), f.source(t, p.span())));
    }

    let password = match (
        first(layers, |t| &t.password),
        first(layers, |t| &t.password_env),
    ) {
        (Some((t1, _)), Some((t2, e))) if t1 == t2 => {
            return Err(f.fail(
                t1,
                e.span(),
                "sets both `password` and `password_env`; use one",
            ));
        }
        // The more specific table wins; `layers` is ordered most specific first.
        (Some((t1, p)), Some((t2, e))) => {
            if layers.iter().position(|(n, _)| *n == t1) < layers.iter().position(|(n, _)| *n == t2)
            {
                Some((
                    p.get_ref().clone(),
                    f.source(t1, p.span()),
                    "***".to_owned(),
                ))
            } else {
                Some(password_from_env(f, t2, e, env)?)
            }
        }
        (Some((t, p)), None) => {
            Some((p.get_ref().clone(), f.source(t, p.span()), "***".to_owned()))
        }
        (None, Some((t, e))) => Some(password_from_env(f, t, e, env)?),
        (None, None) => None,
    };
    if let Some((_, source, shown)) = &password {
        parts.push(("password", shown.clone(), source.clone()));
    }

    let mut url = url::Url::parse(&format!("{scheme}://placeholder"))
        .map_err(|e| SettingsError(format!("internal error composing the URL: {e}")))?;
    let bad = |key: &str, what: &str| {
        SettingsError(format!(
            "{}: [{table_name}] `{key}` cannot be used in a URL: {what}",
            f.path.display()
        ))
    };
    url.set_host(Some(host.get_ref()))
        .map_err(|e| bad("host", &e.to_string()))?;
    url.set_port(Some(
        port.map_or(if scheme == "mysql" { 3306 } else { 5432 }, |(_, p)| {
            *p.get_ref()
        }),
    ))
    .map_err(|()| bad("port", "invalid port"))?;
    // Encoded here, not by `set_password`, which leaves `%` alone (it takes `%40` to be an
    // already encoded `@`); sqlx decodes both again.
    url.set_username(&userinfo(username.get_ref()))
        .map_err(|()| bad("username", "invalid"))?;
    if let Some((secret, _, _)) = &password {
        url.set_password(Some(&userinfo(secret)))
            .map_err(|()| bad("password", "invalid"))?;
    }
    url.set_path(&format!("/{}", database.get_ref()));
    Ok(Some(ResolvedUrl {
        url: Sourced {
            value: url.to_string(),
            source: f.source(table_name, header),
        },
        parts,
    }))
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

/// The database parts as `cli config` lists them: key, value shown, and where it came from.
type Parts = Vec<(&'static str, String, Source)>;

/// A string part that must be set: records it and its source in `parts`, or fails naming it.
fn required<'a>(
    f: &SettingsFile,
    parts: &mut Parts,
    key: &'static str,
    found: Option<(&'a str, &'a Spanned<String>)>,
    missing: &dyn Fn(&str) -> SettingsError,
) -> Result<(&'a str, &'a Spanned<String>), SettingsError> {
    let (table, value) = found.ok_or_else(|| missing(key))?;
    parts.push((key, value.get_ref().clone(), f.source(table, value.span())));
    Ok((table, value))
}

fn has_parts(t: &Table) -> bool {
    t.dialect.is_some()
        || t.host.is_some()
        || t.database.is_some()
        || t.username.is_some()
        || t.port.is_some()
        || t.driver.is_some()
        || t.password.is_some()
        || t.password_env.is_some()
}

fn password_from_env(
    f: &SettingsFile,
    table: &str,
    var: &Spanned<String>,
    env: Option<fn(&str) -> Option<String>>,
) -> Result<(String, Source, String), SettingsError> {
    let read = env.unwrap_or(|name| std::env::var(name).ok());
    match read(var.get_ref()) {
        Some(secret) => Ok((
            secret,
            f.source(table, var.span()),
            format!("*** (environment {})", var.get_ref()),
        )),
        None => Err(f.fail(
            table,
            var.span(),
            format!(
                "password_env names `{}`, which is not set in the environment",
                var.get_ref()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> Result<SettingsFile, SettingsError> {
        SettingsFile::parse(Path::new("settings.toml"), text.to_owned())
    }

    fn profile(name: &str) -> Inputs {
        Inputs {
            profile: Some(Sourced {
                value: name.to_owned(),
                source: Source::Flag("--env"),
            }),
            ..Inputs::default()
        }
    }

    fn resolve_text(text: &str, name: &str) -> Result<Resolved, SettingsError> {
        resolve(&profile(name), Some(&file(text)?))
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
        let r = resolve_text(ORIGINAL, "develop").unwrap();
        assert_eq!(
            r.database.url.value,
            "mysql://mhh123:p%40ss%3Aw%2Frd%231%25@127.0.0.1:3306/my_flask"
        );
        let parsed = url::Url::parse(&r.database.url.value).unwrap();
        let decoded = percent_encoding::percent_decode_str(parsed.password().unwrap())
            .decode_utf8()
            .unwrap();
        assert_eq!(decoded, "p@ss:w/rd#1%");
        assert_eq!(
            r.database.url.source.to_string(),
            "settings.toml:2 [default]"
        );
        let password = r
            .database
            .parts
            .iter()
            .find(|(k, _, _)| *k == "password")
            .unwrap();
        assert_eq!(password.1, "***");
    }

    #[test]
    fn a_profile_overrides_default_key_by_key() {
        let r = resolve_text(ORIGINAL, "test").unwrap();
        assert!(
            r.database.url.value.ends_with("/my_flask_test"),
            "{}",
            r.database.url.value
        );
        assert!(r.database.url.value.starts_with("mysql://mhh123:"));
        assert_eq!(r.connect_timeout.value, 9);
        assert_eq!(
            r.connect_timeout.source.to_string(),
            "settings.toml:13 [test]"
        );
        assert!(!r.echo.value);
    }

    #[test]
    fn password_env_reads_the_environment_and_wins_over_default() {
        let mut inputs = profile("product");
        inputs.env = Some(|name| (name == "STUDENTS_TEST_SECRET").then(|| "from env".to_owned()));
        let r = resolve(&inputs, Some(&file(ORIGINAL).unwrap())).unwrap();
        assert!(
            r.database.url.value.contains(":from%20env@"),
            "{}",
            r.database.url.value
        );
        assert!(r.echo.value);
        inputs.env = Some(|_| None);
        let err = resolve(&inputs, Some(&file(ORIGINAL).unwrap()))
            .unwrap_err()
            .0;
        assert_eq!(
            err,
            "settings.toml:16: [product] password_env names `STUDENTS_TEST_SECRET`, which is not set in the environment"
        );
    }

    #[test]
    fn flags_and_environment_come_before_the_file() {
        let inputs = Inputs {
            url: Some(Sourced {
                value: "sqlite://x.db".into(),
                source: Source::Env("DATABASE_URL"),
            }),
            connect_timeout_flag: Some(3),
            echo_flag: true,
            ..Inputs::default()
        };
        let r = resolve(&inputs, Some(&file(ORIGINAL).unwrap())).unwrap();
        assert_eq!(r.database.url.value, "sqlite://x.db");
        assert_eq!(r.database.url.source, Source::Env("DATABASE_URL"));
        assert_eq!((r.connect_timeout.value, r.echo.value), (3, true));
        assert_eq!(r.profile.value, "develop");
        assert_eq!(r.profile.source, Source::Default);
    }

    #[test]
    fn no_file_and_no_url_is_the_embedded_default() {
        let r = resolve(&Inputs::default(), None).unwrap();
        assert_eq!(r.database.url.value, service::DEFAULT_DATABASE_URL);
        assert_eq!(r.database.url.source, Source::Default);
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let unknown_key = file("[default]\nurl = \"sqlite://a.db\"\nhots = \"x\"\n")
            .unwrap_err()
            .0;
        assert!(
            unknown_key.starts_with("settings.toml:3:") && unknown_key.contains("hots"),
            "{unknown_key}"
        );
        let wrong_type = file("[default]\nport = \"3306\"\n").unwrap_err().0;
        assert!(wrong_type.starts_with("settings.toml:2:"), "{wrong_type}");
        let unknown_table = file("[staging]\nurl = \"x\"\n").unwrap_err().0;
        assert!(unknown_table.contains("staging"), "{unknown_table}");
        let missing = resolve_text(
            "[default]\ndialect = \"mysql\"\nusername = \"u\"\ndatabase = \"d\"\n",
            "develop",
        )
        .unwrap_err()
        .0;
        assert!(
            missing.starts_with("settings.toml:1: [default] `host` is missing"),
            "{missing}"
        );
        let unknown_profile = resolve_text(ORIGINAL, "staging").unwrap_err().0;
        assert!(
            unknown_profile.contains("`staging`") && unknown_profile.contains("settings.toml"),
            "{unknown_profile}"
        );
        let both = resolve_text(
            "[default]\nurl = \"sqlite://a.db\"\nhost = \"h\"\n",
            "develop",
        )
        .unwrap_err()
        .0;
        assert!(both.contains("both `url` and database parts"), "{both}");
    }

    #[test]
    fn errors_never_contain_the_password() {
        let text = "[default]\ndialect = \"mysql\"\npassword = \"Sup3rS3cret\"\nhost = 42\n";
        let err = file(text).unwrap_err().0;
        assert!(!err.contains("Sup3rS3cret"), "{err}");
        assert!(err.starts_with("settings.toml:4: `host`:"), "{err}");
        // A password of the wrong type is not repeated either.
        let err = file("[default]\npassword = 98765\n").unwrap_err().0;
        assert_eq!(err, "settings.toml:2: `password` must be a string");
        let err = file("[default]\nurl = 12\n").unwrap_err().0;
        assert_eq!(err, "settings.toml:2: `url` must be a string");
    }
}
