//! The config directory watched for accounts and profiles that another process (the CLI, the
//! app) changed, so that the agent's timers follow as it happens.

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use crate::store::config::{ACCOUNTS_FILE, Config, PROFILES_FILE};

/// A watch on `config`'s directory (made first when missing: on a first run nothing has made
/// it yet, and a missing directory cannot be watched), and a message for each change to its
/// accounts or profiles. None, said on stderr, where the system gives no watch.
pub fn config_changes(config: &Config) -> Option<(RecommendedWatcher, UnboundedReceiver<()>)> {
    let (tx, rx) = unbounded_channel::<()>();
    let dir = config.dir();
    let not_watching = |e: &dyn std::fmt::Display| {
        eprintln!("latchkey agent: not watching {}: {e}", dir.display());
    };
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        // Opening or reading a file is an event too, and the sync reads them: only a change
        // may start one, or the agent would wake itself every 50 ms all day.
        if event.kind.is_access() {
            return;
        }
        let ours = event.paths.iter().any(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n == ACCOUNTS_FILE || n == PROFILES_FILE)
        });
        if ours {
            let _ = tx.send(());
        }
    })
    .map_err(|e| not_watching(&e))
    .ok()?;
    config.create_dir().map_err(|e| not_watching(&e)).ok()?;
    watcher
        .watch(dir, RecursiveMode::NonRecursive)
        .map_err(|e| not_watching(&e))
        .ok()?;
    Some((watcher, rx))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_first_run_is_watched_and_a_profile_written_later_is_seen() {
        let parent = tempfile::TempDir::new().expect("temp dir");
        let config = Config::new(parent.path().join("latchkey"));
        let (_watch, mut changes) = config_changes(&config).expect("a watch");
        std::fs::write(parent.path().join("latchkey/other.toml"), "").expect("write");
        std::fs::write(config.profiles_path(), "").expect("write");
        let seen = tokio::time::timeout(Duration::from_secs(5), changes.recv()).await;
        assert_eq!(seen, Ok(Some(())));
    }
}
