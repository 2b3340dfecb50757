//! The database kinds the toolkit speaks, with their URL schemes and default ports: the one
//! table that settings, `connect` and validation all read.

/// A database kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// MySQL or MariaDB.
    MySql,
    /// PostgreSQL.
    Postgres,
    /// An embedded SQLite file.
    Sqlite,
}

struct Entry {
    /// Accepted as `dialect = …` and as URL schemes; the first is the canonical scheme.
    names: &'static [&'static str],
    dialect: Dialect,
    default_port: Option<u16>,
}

const DIALECTS: [Entry; 3] = [
    Entry {
        names: &["mysql", "mariadb"],
        dialect: Dialect::MySql,
        default_port: Some(3306),
    },
    Entry {
        names: &["postgres", "postgresql"],
        dialect: Dialect::Postgres,
        default_port: Some(5432),
    },
    Entry {
        names: &["sqlite"],
        dialect: Dialect::Sqlite,
        default_port: None,
    },
];

impl Dialect {
    /// Every accepted name, for messages.
    pub const EXPECTED: &'static str = "mysql, mariadb, postgres or sqlite";

    /// The dialect of a `dialect = …` setting or a URL scheme (`mariadb`, `postgresql`, …).
    pub fn from_name(name: &str) -> Option<Self> {
        DIALECTS
            .iter()
            .find(|e| e.names.contains(&name))
            .map(|e| e.dialect)
    }

    /// The dialect of a database URL, from its scheme.
    pub fn of_url(url: &str) -> Option<Self> {
        let (scheme, _) = url.split_once(':')?;
        Self::from_name(scheme)
    }

    fn entry(self) -> &'static Entry {
        match self {
            Dialect::MySql => &DIALECTS[0],
            Dialect::Postgres => &DIALECTS[1],
            Dialect::Sqlite => &DIALECTS[2],
        }
    }

    /// The scheme the driver is given: `mysql`, `postgres` or `sqlite`.
    pub fn scheme(self) -> &'static str {
        self.entry().names[0]
    }

    /// The server's default TCP port; `None` for SQLite.
    pub fn default_port(self) -> Option<u16> {
        self.entry().default_port
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_schemes_and_ports_agree() {
        for (name, dialect, port) in [
            ("mariadb", Dialect::MySql, Some(3306)),
            ("postgresql", Dialect::Postgres, Some(5432)),
            ("sqlite", Dialect::Sqlite, None),
        ] {
            let d = Dialect::from_name(name).unwrap();
            assert_eq!((d, d.default_port()), (dialect, port));
            assert_eq!(Dialect::from_name(d.scheme()), Some(d));
        }
        assert_eq!(Dialect::of_url("mariadb://u@h/db"), Some(Dialect::MySql));
        assert_eq!(Dialect::from_name("oracle"), None);
    }
}
