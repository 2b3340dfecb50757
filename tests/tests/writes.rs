//! Writes that must either commit exactly what they report or change nothing: locks, ids
//! that ran out, concurrent seeds, names and scores that would lie when listed.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use sea_orm::{ConnectionTrait, Statement};
use tests::{Out, TestDb, cli_command, each_backend};

each_backend!(
    add_student_keeps_names_real_people_write,
    add_student_refuses_invisible_and_direction_changing_names,
    add_student_negative_zero_score_is_stored_as_zero,
    add_student_huge_name_gets_a_short_error,
);

/// Every stored name, ordered by id, read as text: unlike `TestDb::rows` it works when an id
/// does not fit the entity's 32-bit `id`.
fn stored_names(db: &TestDb) -> Vec<String> {
    db.with_db(async |conn| {
        let backend = conn.get_database_backend();
        conn.query_all_raw(Statement::from_string(
            backend,
            "SELECT s_name FROM student ORDER BY id",
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "s_name").unwrap())
        .collect()
    })
}

#[test]
fn seed_count_over_the_name_space_is_refused_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens there: only a count checked before connecting can give exit 2.
    let url = format!("mysql://u:p@127.0.0.1:{}/db", closed_port());
    let space = service::names::NAME_SPACE;
    let over = (space + 1).to_string();
    let out = Out::from_output(
        cli_command(dir.path())
            .args(["--database-url", &url, "seed", "--count", &over])
            .output()
            .unwrap(),
    )
    .fails(2);
    assert!(out.stderr.contains(&format!("`{over}`")), "{out:?}");
    assert!(out.stderr.contains("523994760 distinct names"), "{out:?}");
    // The largest possible count passes the check and goes on to connect.
    let out = Out::from_output(
        cli_command(dir.path())
            .args([
                "--database-url",
                &url,
                "seed",
                "--count",
                &space.to_string(),
            ])
            .output()
            .unwrap(),
    )
    .fails(4);
    assert!(out.stderr.contains("connection refused"), "{out:?}");
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Names with joiners, marks, selectors and tags where real names have them.
const REAL_NAMES: &[&str] = &[
    "नमस्ते",
    "क्\u{200D}ष",
    "می\u{200C}خواهم",
    "👩\u{200D}👩\u{200D}👧",
    "🏳\u{FE0F}\u{200D}🌈",
    "🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}",
    "Zoe\u{0308}",
    "❤\u{FE0F}",
];

fn add_student_keeps_names_real_people_write(db: &TestDb) {
    db.create_tables();
    for name in REAL_NAMES {
        db.cli(&["add-student", "--name", name]).ok();
    }
    assert_eq!(stored_names(db), REAL_NAMES);
    let json: serde_json::Value =
        serde_json::from_str(&db.cli(&["list", "--format", "json"]).ok().stdout).unwrap();
    let listed: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["s_name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, REAL_NAMES);
}

fn add_student_refuses_invisible_and_direction_changing_names(db: &TestDb) {
    db.create_tables();
    let attacks = [
        ("zero\u{200B}width", '\u{200B}'),
        ("evil\u{202E}gnp.exe", '\u{202E}'),
        ("two\u{2028}lines", '\u{2028}'),
        ("\u{3164}", '\u{3164}'),
        ("a \u{200D}b", '\u{200D}'),
    ];
    for (name, c) in attacks {
        let out = db.cli(&["add-student", "--name", name]).fails(2);
        let code = format!("contains U+{:04X}", u32::from(c));
        assert!(out.stderr.contains(&code), "{out:?}");
        // The name is shown escaped: the terminal never receives the character itself.
        assert!(!out.stderr.contains(c), "{out:?}");
    }
    assert!(stored_names(db).is_empty());
}

fn add_student_negative_zero_score_is_stored_as_zero(db: &TestDb) {
    db.create_tables();
    let out = db
        .cli(&["add-student", "--name", "zero", "--score", "-0.0"])
        .ok();
    assert!(out.stdout.trim_end().ends_with("score 0.0"), "{out:?}");
    let csv = db.cli(&["list", "--format", "csv"]).ok().stdout;
    assert_eq!(csv, "id,s_name,s_age,s_score\n1,zero,18,0.0\n");
    let json = db.cli(&["list", "--format", "json"]).ok().stdout;
    assert!(json.contains(r#""s_score":0.0"#), "{json}");
    let row = &db.rows()[0];
    assert!(row.s_score.is_sign_positive(), "{row:?}");
}

fn add_student_huge_name_gets_a_short_error(db: &TestDb) {
    db.create_tables();
    let huge = "名".repeat(40_000); // 120 KB
    let out = db.cli(&["add-student", "--name", &huge]).fails(2);
    assert!(
        out.stderr.len() < 300,
        "{} bytes: {out:?}",
        out.stderr.len()
    );
    assert!(out.stderr.contains("40000 characters"), "{out:?}");
    // What the user typed is shown once, not escaped twice.
    let out = db.cli(&["add-student", "--name", "a\\b\tc"]).fails(2);
    assert!(out.stderr.contains(r"`a\b\u{9}c`"), "{out:?}");
    assert!(stored_names(db).is_empty());
}
