//! The five commands, driven through the real binary on every backend.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use tests::{ADD_XIAOMING, TestDb, each_backend};
use unicode_width::UnicodeWidthStr;

each_backend!(
    create_tables_twice_is_a_no_op,
    add_student_prints_the_row_and_stores_it,
    add_student_uses_the_column_defaults,
    add_student_duplicate_name_exits_3_and_changes_nothing,
    add_student_names_are_case_sensitive,
    add_student_32_cjk_characters_fit_and_33_do_not,
    add_student_emoji_and_injection_names_round_trip_verbatim,
    add_student_invalid_values_exit_2_and_change_nothing,
    add_student_scores_print_as_written,
    list_before_create_tables_exits_5_with_a_hint,
    list_empty_table_in_every_format,
    list_formats_agree_with_the_database,
    drop_tables_drops_only_its_own_tables,
    drop_then_list_exits_5,
    seed_adds_exactly_n_when_names_are_taken,
    seed_twice_concurrently_adds_exactly_both_counts,
    seed_rejects_zero_and_changes_nothing,
);

fn create_tables_twice_is_a_no_op(db: &TestDb) {
    let first = db.cli(&["create-tables"]).ok();
    assert!(
        first
            .stdout
            .contains("applied migration m20240101_000001_create_student_table"),
        "{first:?}"
    );
    assert!(
        first.stdout.contains("created tables: student"),
        "{first:?}"
    );
    assert!(db.has_table("student"));
    db.cli(&["add-student", "--name", "keep"]).ok();
    let second = db.cli(&["create-tables"]).ok();
    assert!(second.stdout.contains("already up to date"), "{second:?}");
    assert_eq!(db.names(), ["keep"]);
}

fn add_student_prints_the_row_and_stores_it(db: &TestDb) {
    db.create_tables();
    let out = db.cli(&ADD_XIAOMING).ok();
    assert_eq!(
        out.stdout.trim(),
        "added student 1: name 小明, age 16, score 80.0"
    );
    let rows = db.rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            rows[0].id,
            rows[0].s_name.as_str(),
            rows[0].s_age,
            rows[0].s_score
        ),
        (1, "小明", 16, 80.0)
    );
}

fn add_student_uses_the_column_defaults(db: &TestDb) {
    db.create_tables();
    db.cli(&["add-student", "--name", "  padded  "]).ok();
    let row = &db.rows()[0];
    assert_eq!(
        (row.s_name.as_str(), row.s_age, row.s_score),
        ("padded", 18, 0.0)
    );
}

fn add_student_duplicate_name_exits_3_and_changes_nothing(db: &TestDb) {
    db.create_tables();
    db.cli(&["add-student", "--name", "小明", "--age", "16"])
        .ok();
    let out = db
        .cli(&["add-student", "--name", "小明", "--age", "20"])
        .fails(3);
    assert!(out.stderr.contains("`小明`"), "{out:?}");
    let rows = db.rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].s_age, 16);
}

fn add_student_names_are_case_sensitive(db: &TestDb) {
    db.create_tables();
    for name in ["Mingren", "mingren", "MINGREN", "Léa", "Lea"] {
        db.cli(&["add-student", "--name", name]).ok();
    }
    assert_eq!(db.names(), ["Mingren", "mingren", "MINGREN", "Léa", "Lea"]);
}

fn add_student_32_cjk_characters_fit_and_33_do_not(db: &TestDb) {
    db.create_tables();
    let fits = "学".repeat(32);
    db.cli(&["add-student", "--name", &fits]).ok();
    let too_long = "学".repeat(33);
    let out = db.cli(&["add-student", "--name", &too_long]).fails(2);
    assert!(out.stderr.contains("33 characters"), "{out:?}");
    assert!(out.stderr.contains("1 to 32 characters"), "{out:?}");
    assert_eq!(db.names(), [fits]);
}

fn add_student_emoji_and_injection_names_round_trip_verbatim(db: &TestDb) {
    db.create_tables();
    let names = [
        "🎓学生😀",
        "'; DROP TABLE student; --",
        "Robert\"); --",
        "a,b\"c",
    ];
    for name in names {
        db.cli(&["add-student", "--name", name]).ok();
    }
    assert_eq!(db.names(), names);
    let json: serde_json::Value =
        serde_json::from_str(&db.cli(&["list", "--format", "json"]).ok().stdout).unwrap();
    let listed: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["s_name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, names);
    let table = db.cli(&["list"]).ok().stdout;
    assert!(names.iter().all(|n| table.contains(n)), "{table}");
}

fn add_student_invalid_values_exit_2_and_change_nothing(db: &TestDb) {
    db.create_tables();
    db.cli(&["add-student", "--name", "existing"]).ok();
    let cases: &[(&[&str], &str)] = &[
        (&["--name", "x", "--age", "151"], "`151`"),
        (&["--name", "x", "--age", "-1"], "`-1`"),
        (&["--name", "x", "--score", "NaN"], "`NaN`"),
        (&["--name", "x", "--score", "inf"], "`inf`"),
        (&["--name", "x", "--score", "-0.5"], "`-0.5`"),
        (&["--name", "   "], "invalid name"),
        (&["--name", "tab\there"], "invalid name"),
        (&["--name", "x", "--age", "abc"], "'abc'"),
    ];
    for (args, named) in cases {
        let mut full = vec!["add-student"];
        full.extend_from_slice(args);
        let out = db.cli(&full).fails(2);
        assert!(out.stderr.contains(named), "{args:?} → {out:?}");
    }
    assert_eq!(db.names(), ["existing"]);
}

fn add_student_scores_print_as_written(db: &TestDb) {
    db.create_tables();
    db.cli(&["add-student", "--name", "a", "--score", "87.5"])
        .ok();
    let out = db
        .cli(&["add-student", "--name", "b", "--score", "80.1"])
        .ok();
    assert!(out.stdout.contains("score 80.1"), "{out:?}");
    let csv = db.cli(&["list", "--format", "csv"]).ok().stdout;
    assert_eq!(csv, "id,s_name,s_age,s_score\n1,a,18,87.5\n2,b,18,80.1\n");
    let json = db.cli(&["list", "--format", "json"]).ok().stdout;
    assert!(
        json.contains(r#""s_score":87.5"#) && json.contains(r#""s_score":80.1"#),
        "{json}"
    );
    let table = db.cli(&["list"]).ok().stdout;
    assert!(
        table.contains("    87.5 |") && table.contains("    80.1 |"),
        "{table}"
    );
}

fn list_before_create_tables_exits_5_with_a_hint(db: &TestDb) {
    for format in ["table", "json", "csv"] {
        let out = db.cli(&["list", "--format", format]).fails(5);
        assert!(out.stderr.contains("cli create-tables"), "{out:?}");
        assert_eq!(out.stdout, "", "nothing printed for a query that failed");
    }
    db.cli(&["add-student", "--name", "x"]).fails(5);
    db.cli(&["seed", "--count", "3"]).fails(5);
}

fn list_empty_table_in_every_format(db: &TestDb) {
    db.create_tables();
    assert_eq!(db.cli(&["list", "--format", "json"]).ok().stdout, "[]\n");
    assert_eq!(
        db.cli(&["list", "--format", "csv"]).ok().stdout,
        "id,s_name,s_age,s_score\n"
    );
    let table = db.cli(&["list"]).ok().stdout;
    assert!(
        table.contains("| id ") && table.trim_end().ends_with("0 rows"),
        "{table}"
    );
}

fn list_formats_agree_with_the_database(db: &TestDb) {
    db.create_tables();
    db.cli(&ADD_XIAOMING).ok();
    db.cli(&["seed", "--count", "25", "--seed", "9"]).ok();
    let rows = db.rows();
    assert_eq!(rows.len(), 26);

    let json: Vec<entity::student::Model> =
        serde_json::from_str(&db.cli(&["list", "--format", "json"]).ok().stdout).unwrap();
    assert_eq!(json, rows);

    let csv = db.cli(&["list", "--format", "csv"]).ok().stdout;
    let csv_names: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    let names: Vec<&str> = rows.iter().map(|r| r.s_name.as_str()).collect();
    assert_eq!(csv_names, names);

    // Aligned for humans: every line of the table is equally wide on screen, CJK included.
    let table = db.cli(&["list"]).ok().stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 26 + 5, "{table}");
    let first = lines[0].width();
    for line in &lines[..lines.len() - 1] {
        assert_eq!(line.width(), first, "misaligned line {line:?}\n{table}");
    }
    assert_eq!(*lines.last().unwrap(), "26 rows");
}

fn drop_tables_drops_only_its_own_tables(db: &TestDb) {
    db.create_tables();
    db.exec("CREATE TABLE keep_me (id INT PRIMARY KEY)");
    let out = db.cli(&["drop-tables"]).ok();
    assert!(
        out.stdout
            .contains("dropped tables: sessions, student, seaql_migrations"),
        "{out:?}"
    );
    assert!(!db.has_table("student"));
    assert!(!db.has_table("seaql_migrations"));
    assert!(db.has_table("keep_me"));
    let again = db.cli(&["drop-tables", "--yes"]).ok();
    assert!(again.stdout.contains("nothing to drop"), "{again:?}");
}

fn drop_then_list_exits_5(db: &TestDb) {
    db.create_tables();
    db.cli(&["seed", "--count", "5"]).ok();
    db.cli(&["drop-tables"]).ok();
    db.cli(&["list"]).fails(5);
    // And the schema can be created again from scratch.
    db.create_tables();
    assert_eq!(db.rows().len(), 0);
}

fn seed_adds_exactly_n_when_names_are_taken(db: &TestDb) {
    db.create_tables();
    let first = db.cli(&["seed", "--count", "50", "--seed", "7"]).ok();
    assert!(first.stdout.starts_with("added 50 students"), "{first:?}");
    // The same seed regenerates the same 50 names first: all taken, all topped up.
    let second = db.cli(&["seed", "--count", "60", "--seed", "7"]).ok();
    assert!(second.stdout.starts_with("added 60 students"), "{second:?}");
    let names = db.names();
    assert_eq!(names.len(), 110);
    let unique: std::collections::HashSet<_> = names.iter().collect();
    assert_eq!(unique.len(), 110);
}

fn seed_twice_concurrently_adds_exactly_both_counts(db: &TestDb) {
    db.create_tables();
    db.cli(&["seed", "--count", "10", "--seed", "5"]).ok();
    // Same seed in both: every name one generates, the other generates too.
    let spawn = || {
        db.command()
            .args(["seed", "--count", "3000", "--seed", "5"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{out:?}");
        assert!(text.starts_with("added 3000 students"), "{text}");
    }
    assert_eq!(db.rows().len(), 6010);
}

fn seed_rejects_zero_and_changes_nothing(db: &TestDb) {
    db.create_tables();
    let out = db.cli(&["seed", "--count", "0"]).fails(2);
    assert!(out.stderr.contains("`0`"), "{out:?}");
    db.cli(&["seed", "--count", "-3"]).fails(2);
    assert!(db.rows().is_empty());
}
