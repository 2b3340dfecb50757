//! `cli config`: every setting in force and where it came from. A broken setting does not hide
//! the others: its row is marked and names the file and line at fault, and the run exits 2.

use std::fmt::Display;
use std::io::{self, Write};

use settings::{Environment, Flags, Resolution, SettingsError, Sourced};

use crate::exit::Failure;

/// One printed row: key, value shown, and where it came from (or what is wrong with it).
struct Row {
    key: String,
    value: String,
    origin: String,
}

impl Row {
    fn new(key: impl Into<String>, value: impl Display, origin: impl Display) -> Self {
        Row {
            key: key.into(),
            value: value.to_string(),
            origin: origin.to_string(),
        }
    }

    fn sourced<T>(
        key: &str,
        value: &Result<Sourced<T>, SettingsError>,
        show: impl Fn(&T) -> String,
    ) -> Self {
        match value {
            Ok(v) => Row::new(key, show(&v.value), &v.source),
            Err(e) => Row::broken(key, e),
        }
    }

    fn broken(key: &str, e: &SettingsError) -> Self {
        Row::new(key, "(invalid)", format_args!("✗ {e}"))
    }
}

/// Prints the settings; fails with the first error after printing all of them. With a URL
/// that lists several hosts, also which one a command would use now, and why (each host tried
/// is logged in to and out of).
pub async fn print(flags: &Flags, env: &Environment) -> Result<(), Failure> {
    let r = Resolution::resolve(flags, env);
    let mut rows = vec![Row::sourced("profile", &r.profile, ToString::to_string)];
    rows.push(match &r.file {
        None => Row::new("settings file", "(none)", ""),
        Some(Ok(path)) => Row::new("settings file", path.display(), ""),
        Some(Err(e)) => Row::broken("settings file", e),
    });
    match &r.database {
        Ok(db) => {
            rows.push(Row::new("database url", &db.url.value, &db.url.source));
            for part in &db.parts {
                rows.push(Row::new(
                    format!("  {}", part.key),
                    &part.shown,
                    &part.source,
                ));
            }
        }
        Err(e) => rows.push(Row::broken("database url", e)),
    }
    if let Ok(db) = &r.database
        && service::split_host_list(db.url.value.expose()).is_some()
    {
        let timeout = r
            .connect_timeout
            .as_ref()
            .map_or(settings::DEFAULT_CONNECT_TIMEOUT, |t| t.value);
        let mut connect = service::ConnectSettings::new(db.url.value.expose());
        connect.connect_timeout = std::time::Duration::from_secs(timeout);
        connect.access = service::Access::Read;
        rows.push(match service::choose_host(&connect).await {
            Ok(Some(choice)) => Row::new("  host chosen", choice, "connected now"),
            Ok(None) => Row::new("  host chosen", "(one host)", ""),
            Err(e) => Row::new("  host chosen", "(none)", format_args!("✗ {e}")),
        });
    }
    rows.push(Row::sourced("echo", &r.echo, ToString::to_string));
    rows.push(Row::sourced("connect timeout", &r.connect_timeout, |s| {
        format!("{s}s")
    }));
    rows.push(Row::sourced("busy timeout", &r.busy_timeout, |s| {
        format!("{s}s")
    }));
    match &r.sessions {
        Ok(s) => {
            rows.push(Row::new(
                "session type",
                s.session_type.value,
                &s.session_type.source,
            ));
            rows.push(match &s.url {
                Some(url) => Row::new("session url", &url.value, &url.source),
                None => Row::new(
                    "session url",
                    "(none: sql uses the database above)",
                    "default",
                ),
            });
            rows.push(Row::new(
                "session dir",
                s.dir.value.display(),
                &s.dir.source,
            ));
            rows.push(Row::new(
                "session key prefix",
                &s.key_prefix.value,
                &s.key_prefix.source,
            ));
            rows.push(Row::new(
                "session lifetime",
                format_args!("{}s", s.lifetime.value),
                &s.lifetime.source,
            ));
            rows.push(match &s.absolute_lifetime {
                Some(a) => Row::new("session max age", format_args!("{}s", a.value), &a.source),
                None => Row::new("session max age", "(none)", "default"),
            });
            rows.push(Row::new(
                "session max bytes",
                s.max_bytes.value,
                &s.max_bytes.source,
            ));
        }
        Err(e) => rows.push(Row::broken("sessions", e)),
    }
    match &r.cookie {
        Ok(c) => {
            rows.push(match &c.secret_key {
                Some(k) => Row::new("secret key", &k.value, &k.source),
                None => Row::new("secret key", "(not set)", "default"),
            });
            rows.push(Row::new("cookie name", &c.name.value, &c.name.source));
            rows.push(Row::new("cookie secure", c.secure.value, &c.secure.source));
            rows.push(Row::new(
                "cookie samesite",
                c.same_site.value,
                &c.same_site.source,
            ));
        }
        Err(e) => rows.push(Row::broken("cookie", e)),
    }
    let errors = r.errors();
    // Problems no row owns (a syntax error, an unknown key) get a row each.
    for e in &errors {
        if !rows.iter().any(|row| row.origin == format!("✗ {e}")) {
            rows.push(Row::broken("", e));
        }
    }
    write_rows(&rows).map_err(Failure::Output)?;
    match errors.first() {
        Some(first) => Err(Failure::Settings((*first).clone())),
        None => Ok(()),
    }
}

fn write_rows(rows: &[Row]) -> io::Result<()> {
    let width = rows
        .iter()
        .map(|r| r.value.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = io::stdout().lock();
    for row in rows {
        let line = format!("{:<18} {:<width$}  {}", row.key, row.value, row.origin);
        writeln!(out, "{}", line.trim_end())?;
    }
    out.flush()
}
