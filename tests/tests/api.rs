//! The service's own API on every backend, where the CLI does not reach: bulk add and streams.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use futures_util::StreamExt;
use service::{ConnectSettings, Error, NewStudent};
use tests::{TestDb, each_backend};

each_backend!(
    add_students_is_all_or_nothing_against_stored_names,
    add_students_rejects_a_name_given_twice,
    add_students_spanning_several_statements_adds_every_row,
    stream_students_yields_every_row_in_id_order,
);

fn student(name: &str) -> NewStudent {
    NewStudent::new(name, Some(20), Some(50.5)).unwrap()
}

fn connect(db: &TestDb) -> ConnectSettings {
    ConnectSettings::new(db.url.clone())
}

fn add_students_is_all_or_nothing_against_stored_names(db: &TestDb) {
    db.create_tables();
    db.cli(&["add-student", "--name", "taken"]).ok();
    let batch: Vec<NewStudent> = (0..4_500)
        .map(|i| student(&format!("s{i}")))
        .chain([student("taken")])
        .collect();
    let err = db.with_db(async |_| {
        let conn = service::connect(&connect(db)).await.unwrap();
        service::add_students(&conn, &batch).await.unwrap_err()
    });
    assert!(
        matches!(&err, Error::DuplicateName(n) if n == "taken"),
        "{err:?}"
    );
    assert_eq!(db.names(), ["taken"]);
}

fn add_students_rejects_a_name_given_twice(db: &TestDb) {
    db.create_tables();
    let batch = [student("a"), student("b"), student("a")];
    let err = db.with_db(async |_| {
        let conn = service::connect(&connect(db)).await.unwrap();
        service::add_students(&conn, &batch).await.unwrap_err()
    });
    assert!(
        matches!(&err, Error::DuplicateName(n) if n == "a"),
        "{err:?}"
    );
    assert!(db.rows().is_empty());
}

fn add_students_spanning_several_statements_adds_every_row(db: &TestDb) {
    db.create_tables();
    let batch: Vec<NewStudent> = (0..4_001).map(|i| student(&format!("学生{i}"))).collect();
    let added = db.with_db(async |_| {
        let conn = service::connect(&connect(db)).await.unwrap();
        service::add_students(&conn, &batch).await.unwrap()
    });
    assert_eq!(added, 4_001);
    let names = db.names();
    assert_eq!(names.len(), 4_001);
    assert_eq!(names[4_000], "学生4000");
}

fn stream_students_yields_every_row_in_id_order(db: &TestDb) {
    db.create_tables();
    db.cli(&["seed", "--count", "300", "--seed", "1"]).ok();
    let streamed = db.with_db(async |_| {
        let conn = service::connect(&connect(db)).await.unwrap();
        let mut rows = service::stream_students(&conn).await.unwrap();
        let mut out = Vec::new();
        while let Some(row) = rows.next().await {
            out.push(row.unwrap());
        }
        out
    });
    assert_eq!(streamed, db.rows());
    assert!(streamed.windows(2).all(|w| w[0].id < w[1].id));
}
