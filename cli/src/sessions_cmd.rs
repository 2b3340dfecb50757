//! `cli sessions …`: the operator's view of the session store the settings name. Keys shown
//! are store keys (SHA-256 of a session id): they identify a session without granting it.

use std::io::{self, Write};

use sessions::{Cleanup, StoreKey};
use settings::Settings;

use crate::exit::Failure;
use crate::opt::{SessionsCommand, StatusFormat};

/// Runs one `sessions` subcommand against the store of `settings`.
pub async fn run(command: SessionsCommand, settings: &Settings) -> Result<(), Failure> {
    if let SessionsCommand::Clear(c) = &command {
        crate::run::confirm(
            c.yes,
            false,
            settings,
            "sessions clear",
            "delete every session, logging everyone out",
        )?;
    }
    let sessions = sessions::open(settings, None).await?;
    let store = sessions.store();
    match command {
        SessionsCommand::List(a) => {
            let limit = a.limit.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
            let listed = store.list(limit).await?;
            let text = match a.format {
                StatusFormat::Json => {
                    let rows: Vec<serde_json::Value> = listed
                        .iter()
                        .map(|s| {
                            serde_json::json!({
                                "key": s.key.as_str(),
                                "created": s.created_at.map(time_text),
                                "expires": s.expires_at.map(time_text),
                                "bytes": s.bytes,
                                "names": s.names,
                            })
                        })
                        .collect();
                    serde_json::to_string_pretty(&rows).map_err(|e| Failure::Output(e.into()))?
                }
                StatusFormat::Table => {
                    let mut lines = vec![format!(
                        "{:<64}  {:<20}  {:<20}  {:>7}  names",
                        "key", "created (UTC)", "expires (UTC)", "bytes"
                    )];
                    for s in &listed {
                        lines.push(format!(
                            "{:<64}  {:<20}  {:<20}  {:>7}  {}",
                            s.key,
                            s.created_at.map_or_else(|| "?".into(), time_text),
                            s.expires_at.map_or_else(|| "?".into(), time_text),
                            s.bytes,
                            s.names.join(", ")
                        ));
                    }
                    lines.push(format!(
                        "{} session{} in {}",
                        listed.len(),
                        if listed.len() == 1 { "" } else { "s" },
                        store.name()
                    ));
                    lines.join("\n")
                }
            };
            print(&text, Failure::Output)
        }
        SessionsCommand::Show { key } => {
            let key = parse_key(&key)?;
            match sessions.load_key(&key).await? {
                Some(loaded) => {
                    let text = serde_json::to_string_pretty(&loaded.record.data)
                        .map_err(|e| Failure::Output(e.into()))?;
                    print(&text, Failure::Output)
                }
                None => Err(Failure::NotFound(format!(
                    "no live session with key {key} in {}",
                    store.name()
                ))),
            }
        }
        SessionsCommand::Delete { key } => {
            let key = parse_key(&key)?;
            let existed = store.load(&key).await?.is_some();
            store.delete(&key).await?;
            let text = if existed {
                format!("deleted session {key}")
            } else {
                format!("no live session {key}; nothing deleted")
            };
            print(&text, Failure::Unreported)
        }
        SessionsCommand::Clear(_) => {
            let n = store.clear().await?;
            print(
                &format!(
                    "cleared {n} session{} from {}",
                    if n == 1 { "" } else { "s" },
                    store.name()
                ),
                Failure::Unreported,
            )
        }
        SessionsCommand::Cleanup => match store.cleanup().await? {
            Cleanup::Removed(n) => print(
                &format!(
                    "removed {n} expired session{}",
                    if n == 1 { "" } else { "s" }
                ),
                Failure::Unreported,
            ),
            Cleanup::SelfExpiring(how) => print(&format!("nothing to do: {how}"), Failure::Output),
        },
        SessionsCommand::Stats => {
            let stats = store.stats().await?;
            let expired = stats.expired.map_or_else(
                || "none kept (the store purges them itself)".to_owned(),
                |n| n.to_string(),
            );
            print(
                &format!(
                    "store    {}\nlive     {}\nexpired  {expired}\nbytes    {}",
                    store.name(),
                    stats.live,
                    stats.bytes
                ),
                Failure::Output,
            )
        }
    }
}

fn parse_key(text: &str) -> Result<StoreKey, Failure> {
    StoreKey::parse(text)
        .ok_or_else(|| Failure::Sessions(sessions::Error::InvalidKey(text.to_owned())))
}

/// Milliseconds since the epoch as `2026-11-25 15:41:54`, UTC.
fn time_text(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn print(text: &str, on_error: fn(io::Error) -> Failure) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(on_error)
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_utc_calendar_dates() {
        assert_eq!(super::time_text(0), "1970-01-01 00:00:00");
        assert_eq!(super::time_text(1_795_617_393_000), "2026-11-25 14:36:33");
        assert_eq!(super::time_text(951_782_400_000), "2000-02-29 00:00:00");
    }
}
