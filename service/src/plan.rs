//! Turns a schema change and the schema as found into the exact statements to send, in order,
//! and the report of what they do. Pure: the runner and the dry run share it, so a dry run
//! prints exactly what a real run sends.

use std::collections::BTreeSet;

use migration::sea_query::{Alias, Expr, ExprTrait, Query, Table};
use migration::{Migration, Target, seaql_migrations, tracking_table_name};
use sea_orm::{DbBackend, EntityName, Schema, Statement};

use crate::error::{Error, Result};
use crate::inspect::State;
use crate::schema::{SchemaChange, SchemaReport};

/// One statement of a plan.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    /// What is sent.
    pub statement: Statement,
    /// The tables it uses that exist before the change starts (locked first on MySQL).
    pub uses: Vec<String>,
}

/// Everything a change will send, and what it will have done once all of it took effect.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    /// The statements, in order.
    pub statements: Vec<Planned>,
    /// The report of the whole change.
    pub report: SchemaReport,
}

impl Plan {
    /// The tables to lock before the first statement: every existing table a statement uses.
    pub fn tables_to_lock(&self) -> Vec<String> {
        let mut tables: Vec<String> = Vec::new();
        for p in &self.statements {
            for t in &p.uses {
                if !tables.contains(t) {
                    tables.push(t.clone());
                }
            }
        }
        tables
    }
}

/// Plans `change` of `migrations` on a database in `state`. With `adopt`, a table that exists
/// unrecorded and differs from the spec only in ways the toolkit does not rely on is recorded
/// as it is; without, that is refused. Fails, having planned nothing, when the change cannot
/// be made safely.
pub(crate) fn plan(
    migrations: &[Box<dyn Migration>],
    state: &State,
    change: SchemaChange,
    adopt: bool,
    target: &Target,
) -> Result<Plan> {
    let known: BTreeSet<&str> = migrations.iter().map(|m| m.name()).collect();
    if let Some(unknown) = state.applied.iter().find(|v| !known.contains(v.as_str())) {
        return Err(Error::UnknownMigration(unknown.clone()));
    }
    let mut planner = Planner {
        migrations,
        start: state,
        now: state.clone(),
        target,
        dropped: BTreeSet::new(),
        plan: Plan::default(),
    };
    match change {
        SchemaChange::Up(steps) => planner.up(steps, Existing::Record { adopt })?,
        SchemaChange::Down(steps) => planner.down(steps),
        SchemaChange::Refresh => {
            planner.down(None);
            planner.up(None, Existing::Refuse)?;
        }
        SchemaChange::Reset => planner.reset(),
    }
    Ok(planner.plan)
}

/// What `up` does with a table a pending migration would create that exists already.
#[derive(Debug, Clone, Copy)]
enum Existing {
    /// Record it when it matches (or, with `adopt`, when it differs only in defaults); refuse
    /// otherwise. Also re-create the missing tables of applied migrations.
    Record { adopt: bool },
    /// Refuse (`refresh`, which must not keep rows it was asked to drop).
    Refuse,
}

struct Planner<'a> {
    migrations: &'a [Box<dyn Migration>],
    /// The schema before the change.
    start: &'a State,
    /// The schema after the statements planned so far.
    now: State,
    target: &'a Target,
    /// Tables dropped by the statements planned so far.
    dropped: BTreeSet<String>,
    plan: Plan,
}

impl Planner<'_> {
    fn backend(&self) -> DbBackend {
        self.target.backend
    }

    fn push(&mut self, statement: Statement, uses: &[&str]) {
        // A table dropped earlier in the change and created again is a new table: the locks
        // taken at the start do not cover it.
        let uses = uses
            .iter()
            .filter(|t| self.start.existing.contains(**t) || self.is_tracking_at_start(t))
            .filter(|t| !self.dropped.contains(**t))
            .map(|t| (*t).to_owned())
            .collect();
        self.plan.statements.push(Planned { statement, uses });
    }

    fn is_tracking_at_start(&self, table: &str) -> bool {
        self.start.tracked && table == tracking_table_name()
    }

    fn note(&mut self, text: String) {
        self.plan.report.notes.push(text);
    }

    fn ensure_tracking_table(&mut self) {
        if self.now.tracked {
            return;
        }
        let mut create =
            Schema::new(self.backend()).create_table_from_entity(seaql_migrations::Entity);
        create.if_not_exists();
        let statement = self.backend().build(&create);
        self.push(statement, &[]);
        self.now.tracked = true;
    }

    fn record(&mut self, name: &str) {
        self.ensure_tracking_table();
        let tracking = tracking_table_name();
        // The server's clock, not this machine's: a dry run then prints the very statement.
        let now = match self.backend() {
            DbBackend::MySql => "UNIX_TIMESTAMP()",
            DbBackend::Postgres => "CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) AS BIGINT)",
            _ => "CAST(strftime('%s', 'now') AS INTEGER)",
        };
        let insert = Query::insert()
            .into_table(seaql_migrations::Entity.table_ref())
            .columns([
                seaql_migrations::Column::Version,
                seaql_migrations::Column::AppliedAt,
            ])
            .values_panic([name.into(), Expr::cust(now)])
            .to_owned();
        let statement = self.backend().build(&insert);
        self.push(statement, &[tracking.as_str()]);
        self.now.applied.insert(name.to_owned());
        self.plan.report.applied.push(name.to_owned());
    }

    fn unrecord(&mut self, name: &str) {
        let tracking = tracking_table_name();
        let delete = Query::delete()
            .from_table(seaql_migrations::Entity.table_ref())
            .and_where(Expr::col(seaql_migrations::Column::Version).eq(name))
            .to_owned();
        let statement = self.backend().build(&delete);
        self.push(statement, &[tracking.as_str()]);
        self.now.applied.remove(name);
        self.plan.report.reverted.push(name.to_owned());
    }

    fn drop_table(&mut self, table: &str) {
        let statement = self.backend().build(Table::drop().table(Alias::new(table)));
        self.push(statement, &[table]);
        self.dropped.insert(table.to_owned());
        self.now.existing.remove(table);
        self.plan.report.dropped_tables.push(table.to_owned());
    }

    /// Applies pending migrations (`steps` of them, all for `None`), after re-creating the
    /// missing tables of applied ones when `existing` says so.
    fn up(&mut self, steps: Option<u32>, existing: Existing) -> Result<()> {
        if let Existing::Record { .. } = existing {
            self.repair()?;
        }
        let limit = steps.map_or(usize::MAX, |n| n as usize);
        let pending: Vec<usize> = (0..self.migrations.len())
            .filter(|&i| !self.now.applied.contains(self.migrations[i].name()))
            .take(limit)
            .collect();
        for i in pending {
            let m = self.migrations[i].as_ref();
            let tables: Vec<&str> = m.creates().iter().map(|t| t.name).collect();
            let present: Vec<&str> = tables
                .iter()
                .copied()
                .filter(|t| self.now.existing.contains(*t))
                .collect();
            if present.is_empty() {
                self.ensure_tracking_table();
                // As `migration::up_statements` composes them: the tables, then the changes.
                for t in m.creates() {
                    self.push(t.create(self.target), &[]);
                    self.now.existing.insert(t.name.to_owned());
                    self.plan.report.created_tables.push(t.name.to_owned());
                }
                let uses = m.alters().to_vec();
                for statement in m.changes(self.target) {
                    self.push(statement, &uses);
                }
                self.record(m.name());
                continue;
            }
            let adopt = match existing {
                Existing::Refuse => {
                    return Err(Error::SchemaConflict(format!(
                        "table `{}` exists but no migration records it, so `refresh` would keep it and its rows; run `cli create-tables` first, which records or adopts it",
                        present.join("`, `")
                    )));
                }
                Existing::Record { adopt } => adopt,
            };
            if present.len() < tables.len() {
                return Err(Error::SchemaConflict(format!(
                    "migration {} is pending, but of the tables it creates `{}` exist and `{}` do not; drop or rename the existing ones",
                    m.name(),
                    present.join("`, `"),
                    tables
                        .iter()
                        .filter(|t| !present.contains(t))
                        .copied()
                        .collect::<Vec<_>>()
                        .join("`, `")
                )));
            }
            for t in &tables {
                let check = self.start.checks.get(*t).cloned().unwrap_or_default();
                if !check.fatal.is_empty() || (!check.minor.is_empty() && !adopt) {
                    return Err(Error::ForeignTable {
                        table: (*t).to_owned(),
                        differences: check.all(),
                        adoptable: check.fatal.is_empty(),
                    });
                }
                if check.exact() {
                    self.note(format!(
                        "table `{t}` already existed and matches migration {}; recorded it as applied without creating it",
                        m.name()
                    ));
                } else {
                    self.note(format!(
                        "adopted table `{t}` as it is ({}); recorded migration {} as applied without creating it",
                        check.minor.join("; "),
                        m.name()
                    ));
                }
            }
            let uses = m.alters().to_vec();
            for statement in m.changes(self.target) {
                self.push(statement, &uses);
            }
            self.record(m.name());
        }
        Ok(())
    }

    /// Re-creates the tables of applied migrations that are missing, keeping their records,
    /// and runs again the changes that later applied migrations made to them.
    fn repair(&mut self) -> Result<()> {
        for (i, m) in self.migrations.iter().enumerate() {
            if !self.now.applied.contains(m.name()) || m.creates().is_empty() {
                continue;
            }
            let (present, missing): (Vec<_>, Vec<_>) = m
                .creates()
                .iter()
                .partition(|t| self.now.existing.contains(t.name));
            if missing.is_empty() {
                continue;
            }
            let names = |ts: &[&migration::TableSpec]| {
                ts.iter().map(|t| t.name).collect::<Vec<_>>().join("`, `")
            };
            if !present.is_empty() {
                return Err(Error::SchemaConflict(format!(
                    "migration {} is recorded as applied, but of its tables `{}` exist and `{}` are missing; drop the remaining ones by hand, then run `cli migrate down` and `cli create-tables`",
                    m.name(),
                    names(&present),
                    names(&missing)
                )));
            }
            for t in &missing {
                let statement = t.create(self.target);
                self.push(statement, &[]);
                self.now.existing.insert(t.name.to_owned());
                self.plan.report.created_tables.push(t.name.to_owned());
                self.note(format!(
                    "re-created table `{}`: migration {} is recorded as applied, but the table was missing",
                    t.name,
                    m.name()
                ));
            }
            let created: Vec<&str> = missing.iter().map(|t| t.name).collect();
            for later in &self.migrations[i + 1..] {
                if self.now.applied.contains(later.name())
                    && later.alters().iter().any(|a| created.contains(a))
                {
                    let uses = later.alters().to_vec();
                    for statement in later.changes(self.target) {
                        self.push(statement, &uses);
                    }
                }
            }
        }
        Ok(())
    }

    /// Reverts applied migrations, newest first (`steps` of them, all for `None`). A table
    /// that is already gone is not dropped; its migration's record is removed all the same.
    fn down(&mut self, steps: Option<u32>) {
        let limit = steps.map_or(usize::MAX, |n| n as usize);
        let applied: Vec<usize> = (0..self.migrations.len())
            .rev()
            .filter(|&i| self.now.applied.contains(self.migrations[i].name()))
            .take(limit)
            .collect();
        for i in applied {
            let m = self.migrations[i].as_ref();
            let altered_missing: Vec<&str> = m
                .alters()
                .iter()
                .copied()
                .filter(|t| !self.now.existing.contains(*t))
                .collect();
            if altered_missing.is_empty() {
                let uses = m.alters().to_vec();
                for statement in m.reverts(self.target) {
                    self.push(statement, &uses);
                }
            } else if !m.reverts(self.target).is_empty() {
                self.note(format!(
                    "table `{}` changed by migration {} was already missing; nothing to revert there",
                    altered_missing.join("`, `"),
                    m.name()
                ));
            }
            for t in m.creates().iter().rev() {
                if self.now.existing.contains(t.name) {
                    self.drop_table(t.name);
                } else {
                    self.note(format!(
                        "table `{}` of migration {} was already missing; removed the record only",
                        t.name,
                        m.name()
                    ));
                }
            }
            self.unrecord(m.name());
        }
    }

    /// `drop-tables`: reverts every applied migration, drops the tables of the migrations
    /// that exist without a record, then the tracking table.
    fn reset(&mut self) {
        self.down(None);
        let leftovers: Vec<&str> = self
            .migrations
            .iter()
            .rev()
            .flat_map(|m| m.creates().iter().rev().map(|t| t.name))
            .filter(|t| self.now.existing.contains(*t))
            .collect();
        for t in leftovers {
            self.drop_table(t);
            self.note(format!(
                "table `{t}` was not recorded as created by a migration; dropped it as asked"
            ));
        }
        if self.now.tracked {
            let tracking = tracking_table_name();
            self.drop_table(&tracking);
            self.now.tracked = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use migration::{Migrations, Migrator, MySqlFlavour};

    use super::*;

    fn mariadb() -> Target {
        Target {
            backend: DbBackend::MySql,
            mysql: Some(MySqlFlavour::MariaDb),
        }
    }

    fn complete() -> State {
        State {
            tracked: true,
            applied: Migrator::all()
                .iter()
                .map(|m| m.name().to_owned())
                .collect(),
            existing: Migrator::tables().iter().map(|t| (*t).to_owned()).collect(),
            ..State::default()
        }
    }

    #[test]
    fn a_refresh_locks_what_exists_and_not_what_it_creates_again() {
        let plan = plan(
            &Migrator::all(),
            &complete(),
            SchemaChange::Refresh,
            false,
            &mariadb(),
        )
        .unwrap();
        let steps: Vec<(String, Vec<String>)> = plan
            .statements
            .iter()
            .map(|p| {
                let sql = p.statement.to_string();
                let head = sql.split(" (").next().unwrap_or_default().to_owned();
                (head, p.uses.clone())
            })
            .collect();
        let s = |sql: &str, uses: &[&str]| {
            (
                sql.to_owned(),
                uses.iter().map(|u| (*u).to_owned()).collect::<Vec<_>>(),
            )
        };
        let tracking = ["seaql_migrations"];
        assert_eq!(
            steps,
            [
                s("DROP TABLE `sessions`", &["sessions"]),
                s(
                    "DELETE FROM `seaql_migrations` WHERE `version` = 'm20261125_000002_create_sessions_table'",
                    &tracking
                ),
                s(
                    "DELETE FROM `seaql_migrations` WHERE `version` = 'm20261125_000001_student_name_no_pad'",
                    &tracking
                ),
                s("DROP TABLE `student`", &["student"]),
                s(
                    "DELETE FROM `seaql_migrations` WHERE `version` = 'm20240101_000001_create_student_table'",
                    &tracking
                ),
                // Created again: a new table, which the locks taken at the start do not cover.
                s("CREATE TABLE `student`", &[]),
                s("INSERT INTO `seaql_migrations`", &tracking),
                s(
                    "ALTER TABLE `student` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin",
                    &[]
                ),
                s("INSERT INTO `seaql_migrations`", &tracking),
                s("CREATE TABLE `sessions`", &[]),
                s(
                    "CREATE INDEX IF NOT EXISTS `sessions_expires_at` ON `sessions`",
                    &[]
                ),
                s("INSERT INTO `seaql_migrations`", &tracking),
            ]
        );
        assert_eq!(
            plan.tables_to_lock(),
            ["sessions", "seaql_migrations", "student"]
        );
    }

    #[test]
    fn a_record_of_an_unknown_migration_is_refused() {
        let mut state = complete();
        state
            .applied
            .insert("m29990101_000001_from_the_future".to_owned());
        let err = plan(
            &Migrator::all(),
            &state,
            SchemaChange::Up(None),
            false,
            &mariadb(),
        )
        .unwrap_err();
        assert!(matches!(err, Error::UnknownMigration(_)), "{err:?}");
    }
}
