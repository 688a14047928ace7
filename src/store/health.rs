//! Whether the database answers, kept by a background check so that nothing waits to find out.
//!
//! A serving node starts [`Store::start_health_checks`]: a thread probes the database every
//! [`UP_INTERVAL`] on a connection of its own (every [`DOWN_INTERVAL`] while it is down), and at
//! once when a request saw a lost connection or waited for the pool. A probe that fails, or does
//! not answer within [`PROBE_TIMEOUT`], marks the database down: from then on
//! [`Store::conn`](super::Store::conn) refuses at once with [`StoreError::Connect`] (503 over
//! HTTP) instead of waiting for the pool, and `/readyz` says so. The first probe that answers
//! again marks it up. Without the check (the command line), the store is always taken as up.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use diesel::prelude::*;

use super::connection::Manager;
use super::schema::store_lock;
use super::{AnyConnection, StoreError};

/// Time between probes while the database answers.
pub const UP_INTERVAL: Duration = Duration::from_millis(250);
/// Time between probes while it does not (recovery is seen within this, plus one probe).
pub const DOWN_INTERVAL: Duration = Duration::from_millis(100);
/// A probe that has not answered by then counts as failed (libpq's own connect timeout is
/// at least 2 s).
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// Probes asked for by requests come at most this often.
const MIN_GAP: Duration = Duration::from_millis(20);
/// Probes left hanging (a connection attempt to a host that does not answer) before the check
/// waits for one of them instead of starting another.
const MAX_HANGING_PROBES: usize = 4;

/// What the last probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthState {
    /// The database answered the last probe (or no probe has run: a store starts up).
    pub up: bool,
    /// Since when it has been in this state.
    pub since: Instant,
    /// Why the last probe failed (for logs, never for HTTP bodies).
    pub error: Option<String>,
}

struct Shared {
    state: HealthState,
    /// A request asked for a probe now.
    wake: bool,
}

/// The database's health as the background check last saw it; shared by a store's clones.
pub struct Health {
    down: AtomicBool,
    monitored: AtomicBool,
    shared: Mutex<Shared>,
    wakeup: Condvar,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            down: AtomicBool::new(false),
            monitored: AtomicBool::new(false),
            shared: Mutex::new(Shared {
                state: HealthState {
                    up: true,
                    since: Instant::now(),
                    error: None,
                },
                wake: false,
            }),
            wakeup: Condvar::new(),
        }
    }
}

impl Health {
    fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the last probe failed (a load of an atomic: call it freely).
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// Whether a background check keeps this state (else it is always up).
    pub fn is_monitored(&self) -> bool {
        self.monitored.load(Ordering::Acquire)
    }

    /// The state, with when it began.
    pub fn state(&self) -> HealthState {
        self.shared().state.clone()
    }

    /// The error requests get while the database is down.
    pub(super) fn refusal(&self) -> StoreError {
        let state = self.state();
        StoreError::Connect(format!(
            "unreachable for {} ms{}",
            state.since.elapsed().as_millis(),
            state.error.map(|e| format!(": {e}")).unwrap_or_default()
        ))
    }

    /// Something looked like a lost database (a query on a lost connection, a pool that gave
    /// no connection in time): probe now rather than at the next interval.
    pub fn report(&self) {
        if self.is_monitored() {
            self.shared().wake = true;
            self.wakeup.notify_all();
        }
    }

    fn set(&self, up: bool, error: Option<String>) {
        let mut shared = self.shared();
        if shared.state.up != up {
            let lasted = shared.state.since.elapsed();
            if up {
                tracing::warn!(down_ms = lasted.as_millis(), "the database answers again");
            } else {
                tracing::error!(
                    error = error.as_deref().unwrap_or(""),
                    up_ms = lasted.as_millis(),
                    "the database does not answer: requests that need it get 503"
                );
            }
            shared.state.since = Instant::now();
        }
        shared.state.up = up;
        shared.state.error = error;
        self.down.store(!up, Ordering::Release);
    }

    /// Waits for the next probe: the interval, or less if a request asks for one (but at
    /// least [`MIN_GAP`]: requests waiting for a busy pool ask often).
    fn wait(&self, interval: Duration) {
        let started = Instant::now();
        {
            let shared = self.shared();
            let (mut shared, _) = self
                .wakeup
                .wait_timeout_while(shared, interval, |s| !s.wake)
                .unwrap_or_else(|p| p.into_inner());
            shared.wake = false;
        }
        std::thread::sleep(MIN_GAP.saturating_sub(started.elapsed()));
    }
}

/// The probe connection, kept between probes; a probe that fails drops it.
type Slot = Arc<Mutex<Option<AnyConnection>>>;

/// Reads the store's generation (it touches the database file on SQLite, where `SELECT 1`
/// would not).
fn read_generation(conn: &mut AnyConnection) -> Result<i64, String> {
    store_lock::table
        .filter(store_lock::id.eq(1))
        .select(store_lock::generation)
        .first::<i64>(conn)
        .map_err(|e| e.to_string())
}

/// One probe, on the kept connection; if that fails (it may just have been closed), on a new
/// one, so that one stale connection does not count as an outage.
fn probe_once(manager: &Manager, slot: &Slot) -> Result<(), String> {
    let kept = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
    let conn = match kept.map(|mut c| read_generation(&mut c).map(|_| c)) {
        Some(Ok(conn)) => conn,
        _ => {
            let mut conn = manager.connect_for_probe().map_err(|e| e.to_string())?;
            read_generation(&mut conn)?;
            conn
        }
    };
    *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(conn);
    Ok(())
}

/// Counts probe threads still running (they end when their connection attempt does).
struct Hanging(Arc<AtomicUsize>);

impl Drop for Hanging {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Runs a probe on a thread of its own and waits at most [`PROBE_TIMEOUT`] for it.
fn probe(manager: &Manager, slot: &Slot, hanging: &Arc<AtomicUsize>) -> Result<(), String> {
    if hanging.load(Ordering::Acquire) >= MAX_HANGING_PROBES {
        return Err(format!("{MAX_HANGING_PROBES} probes have not answered"));
    }
    hanging.fetch_add(1, Ordering::AcqRel);
    let guard = Hanging(hanging.clone());
    let (tx, rx) = mpsc::channel();
    let (manager, slot) = (manager.clone(), slot.clone());
    std::thread::Builder::new()
        .name("db-probe".into())
        .spawn(move || {
            let _guard = guard;
            let _ = tx.send(probe_once(&manager, &slot));
        })
        .map_err(|e| format!("cannot start a probe thread: {e}"))?;
    match rx.recv_timeout(PROBE_TIMEOUT) {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {} ms", PROBE_TIMEOUT.as_millis())),
    }
}

/// Starts the background check of `health` (once per store); it ends when the store is
/// dropped.
pub(super) fn start(health: &Arc<Health>, manager: Manager) {
    if health.monitored.swap(true, Ordering::AcqRel) {
        return;
    }
    let weak: Weak<Health> = Arc::downgrade(health);
    let spawned = std::thread::Builder::new()
        .name("db-health".into())
        .spawn(move || {
            let slot: Slot = Arc::default();
            let hanging = Arc::new(AtomicUsize::new(0));
            loop {
                let result = probe(&manager, &slot, &hanging);
                let Some(health) = weak.upgrade() else { return };
                let up = result.is_ok();
                health.set(up, result.err());
                health.wait(if up { UP_INTERVAL } else { DOWN_INTERVAL });
            }
        });
    if let Err(e) = spawned {
        health.monitored.store(false, Ordering::Release);
        tracing::error!(error = %e, "cannot start the database health check: the store is taken as up");
    }
}
