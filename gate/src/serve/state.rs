//! The server's state: the loaded gate as an atomically swapped snapshot, and reloads.

use super::metrics::Metrics;
use super::Limits;
use crate::service::{Gate, GateConfig};
use arc_swap::ArcSwap;
use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Mutex};

/// One loaded snapshot: immutable; requests hold it for as long as they need it.
pub(crate) struct Loaded {
    pub gate: Gate,
    /// 1 at start, +1 per reload taken.
    pub generation: u64,
    /// What the files looked like just before they were read.
    stamps: Vec<Option<Stamp>>,
}

/// Identity and version of a file: a rename over it changes the inode, a rewrite the
/// size or times.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

fn stamps(cfg: &GateConfig) -> Vec<Option<Stamp>> {
    cfg.files()
        .iter()
        .map(|p| {
            std::fs::metadata(p).ok().map(|m| Stamp {
                dev: m.dev(),
                ino: m.ino(),
                size: m.size(),
                mtime: (m.mtime(), m.mtime_nsec()),
                ctime: (m.ctime(), m.ctime_nsec()),
            })
        })
        .collect()
}

pub(crate) struct Shared {
    pub current: ArcSwap<Loaded>,
    pub cfg: GateConfig,
    pub limits: Limits,
    pub metrics: Metrics,
    pub token: Option<String>,
    /// Held while reloading; the stamps of the last refused attempt (not retried until
    /// a file changes again or SIGHUP asks).
    refused: Mutex<Option<Vec<Option<Stamp>>>>,
}

impl Shared {
    pub fn new(gate: Gate, cfg: GateConfig, limits: Limits, token: Option<String>) -> Shared {
        // The gate was loaded just now; files that change from here on are seen.
        let st = stamps(&cfg);
        let metrics = Metrics::new();
        metrics.loaded(1, &gate);
        Shared {
            current: ArcSwap::from_pointee(Loaded {
                gate,
                generation: 1,
                stamps: st,
            }),
            cfg,
            limits,
            metrics,
            token,
            refused: Mutex::new(None),
        }
    }

    /// Has a watched file changed since the snapshot (or the last refused attempt)?
    pub fn changed_on_disk(&self) -> bool {
        let now = stamps(&self.cfg);
        if now == self.current.load().stamps {
            return false;
        }
        let refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        refused.as_ref() != Some(&now)
    }

    /// Loads every file anew and swaps the result in; on any error the old snapshot
    /// stays. Blocking (opening a large database takes milliseconds): call it from a
    /// blocking thread.
    pub fn reload(&self, why: &str) -> bool {
        let mut refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        let st = stamps(&self.cfg);
        let old = self.current.load_full();
        match Gate::load(&self.cfg).map(Gate::with_name_index) {
            Ok(gate) => {
                let generation = old.generation + 1;
                eprintln!(
                    "tcp serve: reloaded ({why}): generation {generation}: {}",
                    gate.describe()
                );
                self.metrics.loaded(generation, &gate);
                self.metrics.reload(true);
                self.current.store(Arc::new(Loaded {
                    gate,
                    generation,
                    stamps: st,
                }));
                *refused = None;
                true
            }
            Err(e) => {
                eprintln!(
                    "tcp serve: reload ({why}) refused: {e:#}; still serving generation {}",
                    old.generation
                );
                self.metrics.reload(false);
                self.metrics.error("reload_refused");
                *refused = Some(st);
                false
            }
        }
    }
}
