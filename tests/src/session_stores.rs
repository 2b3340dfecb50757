//! The conformance suite every session store passes on its real server: the guarantees of
//! `sessions::Store` and of the rules in `sessions::Sessions`, checked from outside.

use std::sync::Arc;
use std::time::Duration;

use sessions::{Cleanup, Data, SessionId, Sessions, Store, StoreKey};
use settings::{SessionSettings, Sourced};

/// What the suite needs from a store beyond its trait: a look at everything it holds, and a
/// way to plant a corrupt record, as someone with access to the server could.
pub trait Raw: Send + Sync {
    /// Every key and value the store holds for this test, as text.
    fn dump(&self) -> String;
    /// Writes bytes that are not a session record under `key`.
    fn corrupt(&self, key: &StoreKey);
}

/// Session settings for the suite: idle `idle`, optional absolute cap, size cap `max_bytes`.
pub fn settings(idle: Duration, absolute: Option<Duration>, max_bytes: u64) -> SessionSettings {
    SessionSettings {
        session_type: Sourced::default_value(settings::SessionType::Filesystem),
        url: None,
        dir: Sourced::default_value(std::path::PathBuf::new()),
        key_prefix: Sourced::default_value("session:".to_owned()),
        lifetime: Sourced::default_value(idle.as_secs().max(1)),
        absolute_lifetime: absolute.map(|a| Sourced::default_value(a.as_secs().max(1))),
        max_bytes: Sourced::default_value(max_bytes),
    }
}

fn data(pairs: &[(&str, serde_json::Value)]) -> Data {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// Runs every check against `store`. `expires_itself` says whether its `cleanup` reports
/// that the server purges expired records (Redis, memcached) rather than counting removals.
pub async fn conformance(store: Arc<dyn Store>, raw: &dyn Raw, expires_itself: bool) {
    conformance_at_resolution(store, raw, expires_itself, Duration::ZERO).await;
}

/// As [`conformance`], for a store whose expiry may come up to `resolution` early: memcached
/// counts time in whole seconds of a clock that ticks once a second, so an item given 2 s
/// lives between 1 and 2 s. The idle-expiry check then uses a lifetime and waits longer by
/// that much, so that it still holds on every tick.
pub async fn conformance_at_resolution(
    store: Arc<dyn Store>,
    raw: &dyn Raw,
    expires_itself: bool,
    resolution: Duration,
) {
    let long = Sessions::new(
        store.clone(),
        &settings(Duration::from_secs(3600), None, 64 * 1024),
    );
    let short = Duration::from_secs(1);

    // create / load / save / delete, and the id never in the store.
    let (id, record) = long
        .create(data(&[("username", "mingren".into()), ("age", 18.into())]))
        .await
        .unwrap();
    let loaded = long
        .load(&id)
        .await
        .unwrap()
        .expect("a created session loads");
    assert_eq!(loaded.data, record.data);
    assert!(
        !raw.dump().contains(id.expose()),
        "the raw session id is in the store"
    );
    let mut changed = loaded.clone();
    changed.data.insert("username".into(), "小明".into());
    assert!(long.save(&id, &changed).await.unwrap());
    assert_eq!(
        long.load(&id).await.unwrap().unwrap().data["username"],
        "小明"
    );
    assert_eq!(
        long.load(&id).await.unwrap().unwrap().created_at,
        record.created_at,
        "save keeps the header"
    );

    // create never overwrites: the same key again is refused and the record is unchanged.
    assert!(
        !store
            .create(
                &id.key(),
                &sessions::Record::new(Data::new(), None),
                Duration::from_secs(60)
            )
            .await
            .unwrap()
    );
    assert_eq!(
        long.load(&id).await.unwrap().unwrap().data["username"],
        "小明"
    );

    // delete is idempotent, and a save after it does not bring the session back.
    long.delete(&id).await.unwrap();
    long.delete(&id).await.unwrap();
    assert!(long.load(&id).await.unwrap().is_none());
    assert!(
        !long.save(&id, &changed).await.unwrap(),
        "save after delete resurrected"
    );
    assert!(
        !long.touch(&id, &changed).await.unwrap(),
        "touch after delete resurrected"
    );
    assert!(long.load(&id).await.unwrap().is_none());
    let never = SessionId::generate();
    assert!(long.load(&never).await.unwrap().is_none());

    // Concurrent creates never collide.
    let created = futures_util::future::join_all((0..64).map(|i| {
        let long = long.clone();
        async move { long.create(data(&[("n", i.into())])).await.unwrap().0 }
    }))
    .await;
    let keys: std::collections::HashSet<_> = created.iter().map(SessionId::key).collect();
    assert_eq!(keys.len(), 64);
    for (i, id) in created.iter().enumerate() {
        assert_eq!(long.load(id).await.unwrap().unwrap().data["n"], i);
    }
    let dump = raw.dump();
    assert!(created.iter().all(|id| !dump.contains(id.expose())));

    // A corrupt record reads as absent, never as an error or a panic.
    let (bad, _) = long.create(Data::new()).await.unwrap();
    raw.corrupt(&bad.key());
    assert!(long.load(&bad).await.unwrap().is_none());

    // The size cap.
    let capped = Sessions::new(
        store.clone(),
        &settings(Duration::from_secs(60), None, 1024),
    );
    let big = data(&[("blob", "x".repeat(2000).into())]);
    let err = capped.create(big.clone()).await.unwrap_err();
    assert!(matches!(err, sessions::Error::TooLarge { .. }), "{err}");
    let (small, mut record) = capped.create(Data::new()).await.unwrap();
    record.data = big;
    assert!(capped.save(&small, &record).await.is_err());
    assert!(capped.load(&small).await.unwrap().unwrap().data.is_empty());

    // Expiry: gone once idle for its lifetime, before any purge; a touch keeps it alive.
    // Idle 2 s (+ 2 × resolution); each wait 1.2 s (+ resolution): a touched session is
    // still there after one wait, an untouched one gone after two.
    let brief = Sessions::new(
        store.clone(),
        &settings(Duration::from_secs(2) + resolution * 2, None, 64 * 1024),
    );
    let wait = Duration::from_millis(1200) + resolution;
    let (kept, kept_record) = brief.create(data(&[("k", 1.into())])).await.unwrap();
    let (lapsed, _) = brief.create(data(&[("k", 2.into())])).await.unwrap();
    tokio::time::sleep(wait).await;
    assert!(brief.touch(&kept, &kept_record).await.unwrap());
    tokio::time::sleep(wait).await;
    assert!(
        brief.load(&kept).await.unwrap().is_some(),
        "touched session expired"
    );
    assert!(
        brief.load(&lapsed).await.unwrap().is_none(),
        "expired session loaded"
    );

    // The absolute lifetime ends a session however active.
    let capped_age = Sessions::new(
        store.clone(),
        &settings(Duration::from_secs(3600), Some(short), 64 * 1024),
    );
    let (old, old_record) = capped_age.create(Data::new()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let _touched = capped_age.touch(&old, &old_record).await.unwrap();
    assert!(
        capped_age.load(&old).await.unwrap().is_none(),
        "outlived its absolute lifetime"
    );

    // Cleanup counts what it removed (or says the server expires records itself).
    let before = store.stats().await.unwrap();
    match store.cleanup().await.unwrap() {
        Cleanup::Removed(n) => {
            assert!(!expires_itself, "this store should purge by itself");
            assert!(n >= 1, "the lapsed session was not cleaned up");
            assert_eq!(store.stats().await.unwrap().expired, Some(0));
        }
        Cleanup::SelfExpiring(_) => assert!(expires_itself),
    }
    assert!(store.stats().await.unwrap().live <= before.live + 1);

    // Listing shows keys and names, never ids; clear empties the store.
    let (listed_id, _) = long
        .create(data(&[("username", "x".into())]))
        .await
        .unwrap();
    let listed = store.list(None).await.unwrap();
    let entry = listed
        .iter()
        .find(|s| s.key == listed_id.key())
        .expect("listed");
    assert_eq!(entry.names, ["username"]);
    assert!(!format!("{listed:?}").contains(listed_id.expose()));
    assert!(
        !listed.iter().any(|s| s.key == lapsed.key()),
        "an expired session is listed"
    );
    assert!(store.clear().await.unwrap() >= 1);
    assert!(store.list(None).await.unwrap().is_empty());
    store.ping().await.unwrap();
}

/// The same store through tower-sessions' own trait, as its `SessionManagerLayer` uses it.
pub async fn through_tower_sessions(sessions: Sessions) {
    use tower_sessions_core::session::{Id, Record};
    use tower_sessions_core::session_store::SessionStore;
    let expiry = time::OffsetDateTime::now_utc() + time::Duration::minutes(10);
    let mut record = Record {
        id: Id::default(),
        data: [("age".to_owned(), serde_json::json!(18))]
            .into_iter()
            .collect(),
        expiry_date: expiry,
    };
    SessionStore::create(&sessions, &mut record).await.unwrap();
    let loaded = SessionStore::load(&sessions, &record.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loaded.data["age"], 18);
    record
        .data
        .insert("username".into(), serde_json::json!("mingren"));
    SessionStore::save(&sessions, &record).await.unwrap();
    let loaded = SessionStore::load(&sessions, &record.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loaded.data["username"], "mingren");
    SessionStore::delete(&sessions, &record.id).await.unwrap();
    SessionStore::save(&sessions, &record).await.unwrap();
    assert!(
        SessionStore::load(&sessions, &record.id)
            .await
            .unwrap()
            .is_none(),
        "save after delete resurrected"
    );
}

/// Keeps `Arc` and `Sourced` in use for stores built by callers.
pub fn shared(store: impl Store) -> Arc<dyn Store> {
    Arc::new(store)
}
