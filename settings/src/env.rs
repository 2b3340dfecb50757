//! The environment the toolkit reads: process variables first, then `./.env` for the ones
//! the process does not set. `.env` is parsed only when a lookup needs it, so a malformed
//! file troubles only what reads it, and it never changes the process environment.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use crate::error::SettingsError;
use crate::source::{Source, Sourced};

/// Every variable the toolkit reads by name (besides those a settings file names, such as
/// `password_env`).
pub const ENV_VARS: &[&str] = &["DATABASE_URL", "APP_ENV", "STUDENTS_CONFIG"];

type Reader = Box<dyn Fn(&str) -> Result<Option<String>, SettingsError>>;

/// Where variables are looked up.
pub struct Environment {
    read: Reader,
    dotenv_path: PathBuf,
    dotenv: OnceCell<Result<Vec<(String, String)>, SettingsError>>,
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environment")
            .field("dotenv_path", &self.dotenv_path)
            .finish_non_exhaustive()
    }
}

impl Environment {
    /// The process environment and `./.env`.
    pub fn process() -> Self {
        Self::new(
            |name| match std::env::var(name) {
                Ok(v) => Ok(Some(v)),
                Err(std::env::VarError::NotPresent) => Ok(None),
                Err(std::env::VarError::NotUnicode(_)) => Err(SettingsError::Invalid(format!(
                    "the environment variable {name} is not valid UTF-8"
                ))),
            },
            Path::new(".env"),
        )
    }

    /// Variables from `read`, then from the `.env` file at `dotenv` (for tests).
    pub fn new(
        read: impl Fn(&str) -> Result<Option<String>, SettingsError> + 'static,
        dotenv: &Path,
    ) -> Self {
        Environment {
            read: Box::new(read),
            dotenv_path: dotenv.to_owned(),
            dotenv: OnceCell::new(),
        }
    }

    /// The value of `name` and whether it came from the environment or `.env`.
    pub fn get(&self, name: &str) -> Result<Option<Sourced<String>>, SettingsError> {
        if let Some(value) = (self.read)(name)? {
            return Ok(Some(Sourced::new(value, Source::Env(name.to_owned()))));
        }
        let entries = self
            .dotenv
            .get_or_init(|| read_dotenv(&self.dotenv_path))
            .as_ref()
            .map_err(Clone::clone)?;
        Ok(entries
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| Sourced::new(v.clone(), Source::DotEnv(name.to_owned()))))
    }
}

fn read_dotenv(path: &Path) -> Result<Vec<(String, String)>, SettingsError> {
    let iter = match dotenvy::from_path_iter(path) {
        Ok(iter) => iter,
        Err(e) if e.not_found() => return Ok(Vec::new()),
        Err(e) => return Err(SettingsError::DotEnv(e.to_string())),
    };
    iter.map(|item| {
        item.map_err(|e| match e {
            // The line itself may hold a password, so only its position is shown.
            dotenvy::Error::LineParse(_, index) => SettingsError::DotEnv(format!(
                "cannot parse it at character {index}; expected NAME=value lines"
            )),
            other => SettingsError::DotEnv(other.to_string()),
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dotenv(text: &str) -> (tempfile_dir::Dir, PathBuf) {
        let dir = tempfile_dir::Dir::new();
        let path = dir.0.join(".env");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    /// A throwaway directory without a dev-dependency.
    mod tempfile_dir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                let n: u64 = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64;
                let p =
                    std::env::temp_dir().join(format!("settings-env-{}-{n}", std::process::id()));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn the_environment_wins_over_dotenv() {
        let (_d, path) = dotenv("A=from-file\nB=file-only\n");
        let env = Environment::new(|n| Ok((n == "A").then(|| "from-env".to_owned())), &path);
        let a = env.get("A").unwrap().unwrap();
        assert_eq!(
            (a.value.as_str(), a.source.to_string()),
            ("from-env", "environment A".to_owned())
        );
        let b = env.get("B").unwrap().unwrap();
        assert_eq!(b.source.to_string(), ".env B");
        assert!(env.get("C").unwrap().is_none());
    }

    #[test]
    fn a_malformed_dotenv_fails_only_lookups_that_reach_it() {
        let (_d, path) = dotenv("GOOD=1\nthis is not a line s3cret\n");
        let env = Environment::new(|n| Ok((n == "SET").then(|| "x".to_owned())), &path);
        assert!(env.get("SET").unwrap().is_some());
        let err = env.get("OTHER").unwrap_err().to_string();
        assert!(
            err.starts_with("cannot read `.env`: cannot parse it at character"),
            "{err}"
        );
        assert!(!err.contains("s3cret"), "{err}");
    }
}
