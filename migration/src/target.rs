//! Which database server a migration's statements are written for.

use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

/// The kind of server behind a MySQL-protocol connection, which decides the collations it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MySqlFlavour {
    /// MariaDB 10.2.2 or later, which has `utf8mb4_nopad_bin`.
    MariaDb,
    /// MySQL 8.0 or later, which has `utf8mb4_0900_bin`.
    MySql8,
    /// An older server with neither; names compare with trailing spaces ignored there.
    Older,
}

/// The backend (and, for MySQL/MariaDB, the server flavour) statements are built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// SeaORM's backend, which decides the SQL dialect.
    pub backend: DbBackend,
    /// The MySQL-protocol server flavour; `None` on PostgreSQL and SQLite.
    pub mysql: Option<MySqlFlavour>,
}

impl Target {
    /// A PostgreSQL or SQLite target, or MariaDB when `backend` is MySQL.
    pub fn new(backend: DbBackend) -> Self {
        Target {
            backend,
            mysql: (backend == DbBackend::MySql).then_some(MySqlFlavour::MariaDb),
        }
    }

    /// The target of `db`, asking a MySQL-protocol server for its version.
    pub async fn detect<C: ConnectionTrait>(db: &C) -> Result<Self, DbErr> {
        let backend = db.get_database_backend();
        if backend != DbBackend::MySql {
            return Ok(Target::new(backend));
        }
        let row = db
            .query_one_raw(Statement::from_string(backend, "SELECT VERSION() AS v"))
            .await?
            .ok_or_else(|| DbErr::Custom("SELECT VERSION() returned no row".to_owned()))?;
        let version: String = row.try_get("", "v")?;
        Ok(Target {
            backend,
            mysql: Some(MySqlFlavour::of_version(&version)),
        })
    }

    /// The binary, NO PAD collation of `utf8mb4` text on MySQL/MariaDB: names are unique
    /// exactly as written, trailing spaces included; `None` on other backends.
    pub fn text_collation(&self) -> Option<&'static str> {
        Some(match self.mysql? {
            MySqlFlavour::MariaDb => "utf8mb4_nopad_bin",
            MySqlFlavour::MySql8 => "utf8mb4_0900_bin",
            MySqlFlavour::Older => "utf8mb4_bin",
        })
    }
}

impl MySqlFlavour {
    /// The flavour of a server whose `VERSION()` is `version`, e.g. `10.11.19-MariaDB-0+deb12u1`.
    pub fn of_version(version: &str) -> Self {
        let mariadb = version.to_ascii_lowercase().contains("mariadb");
        // MariaDB's handshake once put `5.5.5-` before its real version, for old clients.
        let version = match version.strip_prefix("5.5.5-") {
            Some(rest) if mariadb => rest,
            _ => version,
        };
        let mut numbers = version
            .split(|c: char| !c.is_ascii_digit())
            .map(|part| part.parse::<u32>().unwrap_or(0));
        let major = numbers.next().unwrap_or(0);
        let minor = numbers.next().unwrap_or(0);
        let patch = numbers.next().unwrap_or(0);
        if mariadb {
            if (major, minor, patch) >= (10, 2, 2) {
                MySqlFlavour::MariaDb
            } else {
                MySqlFlavour::Older
            }
        } else if major >= 8 {
            MySqlFlavour::MySql8
        } else {
            MySqlFlavour::Older
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MySqlFlavour;

    #[test]
    fn flavours_follow_the_version_string() {
        assert_eq!(
            MySqlFlavour::of_version("10.11.19-MariaDB-0+deb12u1"),
            MySqlFlavour::MariaDb
        );
        assert_eq!(
            MySqlFlavour::of_version("5.5.5-10.6.4-MariaDB"),
            MySqlFlavour::MariaDb
        );
        assert_eq!(MySqlFlavour::of_version("8.0.36"), MySqlFlavour::MySql8);
        assert_eq!(MySqlFlavour::of_version("9.1.0"), MySqlFlavour::MySql8);
        assert_eq!(MySqlFlavour::of_version("5.7.44-log"), MySqlFlavour::Older);
        assert_eq!(
            MySqlFlavour::of_version("10.1.48-MariaDB"),
            MySqlFlavour::Older
        );
    }
}
