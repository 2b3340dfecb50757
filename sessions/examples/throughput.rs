//! Session-store throughput, for `bench/sessions.sh`: how many create + load + save + delete
//! cycles a store completes per second from N concurrent tasks, with a record of ~256 bytes.
//!
//! `cargo run --release -p sessions --example throughput -- SETTINGS_FILE TASKS SECONDS`
//! prints one line: `tasks=32 cycles=… seconds=… cycles_per_s=… ops_per_s=…`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sessions::{Data, Sessions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, file, tasks, seconds] = args.as_slice() else {
        return Err("usage: throughput SETTINGS_FILE TASKS SECONDS".into());
    };
    let tasks: usize = tasks.parse()?;
    let seconds: u64 = seconds.parse()?;
    let flags = settings::Flags {
        config: Some(file.into()),
        ..settings::Flags::default()
    };
    let settings = settings::Settings::resolve(&flags, &settings::Environment::process())?;
    let sessions = sessions::open(&settings, None).await?;
    let cycles = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    // ~256 bytes of data, as redis-benchmark's -d 256 for the reference.
    let data: Data = [("username".to_owned(), serde_json::json!("x".repeat(220)))]
        .into_iter()
        .collect();
    let started = Instant::now();
    let workers: Vec<_> = (0..tasks)
        .map(|_| {
            let (sessions, cycles, stop, data) =
                (sessions.clone(), cycles.clone(), stop.clone(), data.clone());
            tokio::spawn(async move { work(&sessions, &data, &cycles, &stop).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let done = cycles.load(Ordering::Relaxed);
    println!(
        "tasks={tasks} cycles={done} seconds={elapsed:.2} cycles_per_s={:.0} ops_per_s={:.0}",
        done as f64 / elapsed,
        4.0 * done as f64 / elapsed
    );
    Ok(())
}

async fn work(
    sessions: &Sessions,
    data: &Data,
    cycles: &AtomicU64,
    stop: &AtomicBool,
) -> Result<(), sessions::Error> {
    while !stop.load(Ordering::Relaxed) {
        let (id, mut record) = sessions.create(data.clone()).await?;
        let loaded = sessions.load(&id).await?;
        assert!(loaded.is_some(), "a created session loads");
        record.data.insert("age".into(), 18.into());
        assert!(sessions.save(&id, &record).await?, "a live session saves");
        sessions.delete(&id).await?;
        cycles.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}
