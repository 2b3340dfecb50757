//! Every session store against the conformance suite on its real server, and the operator
//! commands through the real `cli`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::path::PathBuf;
use std::time::Duration;

use sessions::StoreKey;
use sessions::stores::FilesystemStore;
use tests::session_stores::{Raw, conformance, settings, shared, through_tower_sessions};

struct Dir(PathBuf);

impl Raw for Dir {
    fn dump(&self) -> String {
        let mut out = String::new();
        for entry in std::fs::read_dir(&self.0).unwrap() {
            let entry = entry.unwrap();
            out.push_str(&entry.file_name().to_string_lossy());
            out.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
        out
    }

    fn corrupt(&self, key: &StoreKey) {
        std::fs::write(self.0.join(key.as_str()), b"\x80\x03}q\x00.").unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn filesystem_store_conforms() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("flask_session");
    let store = FilesystemStore::open(&dir).unwrap();
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let store = shared(store);
    conformance(store.clone(), &Dir(dir.clone()), false).await;
    let sessions = sessions::Sessions::new(store, &settings(Duration::from_secs(60), None, 65536));
    let (_id, _) = sessions.create(sessions::Data::new()).await.unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let mode = entry.unwrap().metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "session files are private");
    }
    through_tower_sessions(sessions).await;
}
