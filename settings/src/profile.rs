//! The profiles of the original `settings.py`: `Develop`, `Test` and `Product`.

use std::fmt;

use crate::file::DEFAULT_TABLE;

/// A settings profile; `develop` when none is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// `DEBUG = True`: the default.
    #[default]
    Develop,
    /// `TESTING = True`.
    Test,
    /// Production: destructive commands need `--yes`, and the web server demands a real key.
    Product,
}

impl Profile {
    /// Every profile, in the order the original declares them.
    pub const ALL: [Profile; 3] = [Profile::Develop, Profile::Test, Profile::Product];

    /// The profile's name, which is also its table in the settings file.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Develop => "develop",
            Profile::Test => "test",
            Profile::Product => "product",
        }
    }

    /// The profile called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Whether this is the production profile.
    pub fn is_production(self) -> bool {
        self == Profile::Product
    }

    /// The tables a settings file may have.
    pub(crate) fn table_names() -> [&'static str; 4] {
        [DEFAULT_TABLE, "develop", "test", "product"]
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
