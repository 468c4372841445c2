//! Durable results in SQLite (WAL journal, `synchronous = FULL`): the plan is written
//! once, in one transaction, when a run starts; every sample is its own committed
//! transaction, keyed by its plan position, the moment it is taken (an LLM sample's
//! answer, token counts, retries and timeouts go into `llm_samples` in the same
//! transaction). A run that is killed resumes with the trials that have no sample
//! yet; the primary key makes a duplicate impossible.

use super::schedule::Trial;
use super::Arm;
use anyhow::{bail, Context};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::Path;

/// The result file inside a run folder.
pub const DB_FILE: &str = "results.sqlite";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS plan (
    seq INTEGER PRIMARY KEY,
    block INTEGER NOT NULL,
    arm_position INTEGER NOT NULL,
    tool TEXT NOT NULL,
    arm TEXT NOT NULL,
    warmup INTEGER NOT NULL,
    expert TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS samples (
    seq INTEGER PRIMARY KEY REFERENCES plan(seq),
    session INTEGER NOT NULL,
    started_unix_ms INTEGER NOT NULL,
    latency_ns INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    risk TEXT,
    decision TEXT,
    error TEXT,
    attempts INTEGER NOT NULL,
    detail TEXT,
    load1 REAL
);
CREATE TABLE IF NOT EXISTS llm_samples (
    seq INTEGER PRIMARY KEY REFERENCES samples(seq),
    answer TEXT,
    parsed INTEGER NOT NULL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    retries INTEGER NOT NULL,
    timeouts INTEGER NOT NULL,
    doc_tokens_est INTEGER NOT NULL,
    doc_cut INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    session INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    env_start TEXT NOT NULL,
    env_end TEXT,
    resumed_at_samples INTEGER NOT NULL,
    warmup_unrecorded INTEGER NOT NULL
);
";

/// One measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub seq: u64,
    pub session: i64,
    pub started_unix_ms: i64,
    pub latency_ns: u64,
    pub ok: bool,
    /// The arm's risk level (SAFE … CRITICAL, UNKNOWN).
    pub risk: Option<String>,
    /// The decision that follows from it (APPROVE … REJECT).
    pub decision: Option<String>,
    pub error: Option<String>,
    pub attempts: u32,
    pub detail: Option<String>,
    pub load1: Option<f64>,
    /// The LLM arm's part (`llm_samples`).
    pub llm: Option<LlmSample>,
}

/// What an LLM sample records beyond the common columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LlmSample {
    /// The model's raw answer (none when the request failed).
    pub answer: Option<String>,
    /// Whether the answer carried a risk label; an answer that did not is invalid.
    pub parsed: bool,
    /// Token counts from the API's `usage` (none when it gave none).
    pub prompt_tokens: Option<u32>,
    pub completion_tokens: Option<u32>,
    /// Attempts after the first (429, 5xx, timeouts, connection errors).
    pub retries: u32,
    /// Attempts that ran into the per-request timeout.
    pub timeouts: u32,
    /// Documentation put into the prompt, estimated tokens (after the budget).
    pub doc_tokens_est: u32,
    /// Whether the documentation was cut to the budget.
    pub doc_cut: bool,
}

/// One batch of trials run elsewhere: in another environment's process or on a worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRecord {
    pub session: i64,
    pub block: i64,
    pub trials: usize,
    /// From handing the batch over to having its samples back, as this process saw it
    /// (process start, set-up of the arms, the trials, the way back).
    pub wall_ns: u64,
    /// The sum of the samples' latencies: the timed work inside the batch.
    pub work_ns: u64,
    /// Where it ran: `host`, `container:IMAGE`, or a worker's name.
    pub place: String,
}

/// A sample joined with its plan row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub trial: Trial,
    pub sample: Sample,
}

pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the run's database.
    pub fn open(path: &Path) -> anyhow::Result<Store> {
        let conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
        // The first statement reads the file: one that is not SQLite is malformed input.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| {
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) {
                    tcp_spec::error::InputError::mark(e).into()
                } else {
                    anyhow::Error::new(e)
                }
            })?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store { conn })
    }

    /// Opens an existing run read-only-in-spirit (for reports).
    pub fn open_existing(path: &Path) -> anyhow::Result<Store> {
        if !path.is_file() {
            bail!("{}: no such result database", path.display());
        }
        Store::open(path)
    }

    pub fn meta(&self, key: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Writes the plan and the run's metadata in one transaction, unless a plan is
    /// there already: then the stored config must be the same (same hash).
    pub fn init_plan(
        &mut self,
        config_hash: &str,
        meta: &[(&str, String)],
        plan: &[Trial],
    ) -> anyhow::Result<bool> {
        if let Some(h) = self.meta("config_hash")? {
            if h != config_hash {
                // The user's choice of folder, not a failure of the run: bad usage.
                return Err(tcp_spec::error::UsageError::new(format!(
                    "this run folder holds a run of a different configuration (hash {h}, now \
                     {config_hash}); choose another `output` or remove the folder"
                ))
                .into());
            }
            return Ok(false);
        }
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('config_hash', ?1)",
            [config_hash],
        )?;
        for (k, v) in meta {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                params![k, v],
            )?;
        }
        {
            let mut st = tx.prepare(
                "INSERT INTO plan (seq, block, arm_position, tool, arm, warmup, expert) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for t in plan {
                st.execute(params![
                    t.seq as i64,
                    t.block,
                    t.arm_position,
                    t.tool,
                    t.arm.name(),
                    t.warmup,
                    t.expert
                ])?;
            }
        }
        tx.commit()?;
        Ok(true)
    }

    /// The stored plan, in order.
    pub fn plan(&self) -> anyhow::Result<Vec<Trial>> {
        let mut st = self.conn.prepare(
            "SELECT seq, block, arm_position, tool, arm, warmup, expert FROM plan ORDER BY seq",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, u32>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, bool>(5)?,
                r.get::<_, String>(6)?,
            ))
        })?;
        let mut v = Vec::new();
        for r in rows {
            let (seq, block, arm_position, tool, arm, warmup, expert) = r?;
            v.push(Trial {
                seq: seq as u64,
                block,
                arm_position,
                tool,
                arm: arm.parse::<Arm>().map_err(anyhow::Error::msg)?,
                warmup,
                expert,
            });
        }
        Ok(v)
    }

    /// The plan positions that have a sample.
    pub fn done(&self) -> anyhow::Result<HashSet<u64>> {
        let mut st = self.conn.prepare("SELECT seq FROM samples")?;
        let rows = st.query_map([], |r| r.get::<_, i64>(0))?;
        rows.map(|r| Ok(r? as u64)).collect()
    }

    pub fn begin_session(&self, env: &str, done: usize, warmup: u32) -> anyhow::Result<i64> {
        self.conn.execute(
            "INSERT INTO sessions (started, env_start, resumed_at_samples, warmup_unrecorded) \
             VALUES (datetime('now'), ?1, ?2, ?3)",
            params![env, done as i64, warmup],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn end_session(&self, session: i64, env: &str) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE sessions SET env_end = ?1 WHERE session = ?2",
            params![env, session],
        )?;
        Ok(())
    }

    /// Appends one sample (its own durable transaction, with its `llm_samples` row
    /// when it has one). A second sample for the same plan position is refused.
    pub fn append(&self, s: &Sample) -> anyhow::Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        tx.execute(
            "INSERT INTO samples (seq, session, started_unix_ms, latency_ns, ok, risk, \
                 decision, error, attempts, detail, load1) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                s.seq as i64,
                s.session,
                s.started_unix_ms,
                s.latency_ns as i64,
                s.ok,
                s.risk,
                s.decision,
                s.error,
                s.attempts,
                s.detail,
                s.load1
            ],
        )
        .with_context(|| format!("recording the sample of trial {}", s.seq))?;
        if let Some(l) = &s.llm {
            tx.execute(
                "INSERT INTO llm_samples (seq, answer, parsed, prompt_tokens, completion_tokens, \
                 retries, timeouts, doc_tokens_est, doc_cut) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    s.seq as i64,
                    l.answer,
                    l.parsed,
                    l.prompt_tokens,
                    l.completion_tokens,
                    l.retries,
                    l.timeouts,
                    l.doc_tokens_est,
                    l.doc_cut
                ],
            )
            .with_context(|| format!("recording the LLM answer of trial {}", s.seq))?;
        }
        tx.commit()
            .with_context(|| format!("committing the sample of trial {}", s.seq))?;
        Ok(())
    }

    /// The table of batches, for a run that executes its trials in batches (another
    /// environment, workers): created on first use, so a run without batches keeps the
    /// schema above.
    pub fn ensure_batches(&self) -> anyhow::Result<()> {
        self.conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS batches (
                batch INTEGER PRIMARY KEY,
                session INTEGER NOT NULL,
                block INTEGER NOT NULL,
                trials INTEGER NOT NULL,
                wall_ns INTEGER NOT NULL,
                work_ns INTEGER NOT NULL,
                place TEXT NOT NULL
            )",
        )?;
        Ok(())
    }

    /// Records one batch (its samples are appended on their own).
    pub fn append_batch(&self, b: &BatchRecord) -> anyhow::Result<()> {
        self.conn.execute(
            "INSERT INTO batches (session, block, trials, wall_ns, work_ns, place) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                b.session,
                b.block,
                b.trials as i64,
                b.wall_ns as i64,
                b.work_ns as i64,
                b.place
            ],
        )?;
        Ok(())
    }

    /// The recorded batches (none when the run has no batch table).
    pub fn batches(&self) -> anyhow::Result<Vec<BatchRecord>> {
        let exists: bool = self.conn.query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'batches'",
            [],
            |r| r.get(0),
        )?;
        if !exists {
            return Ok(Vec::new());
        }
        let mut st = self.conn.prepare(
            "SELECT session, block, trials, wall_ns, work_ns, place FROM batches ORDER BY batch",
        )?;
        let rows = st.query_map([], |r| {
            Ok(BatchRecord {
                session: r.get(0)?,
                block: r.get(1)?,
                trials: r.get::<_, i64>(2)? as usize,
                wall_ns: r.get::<_, i64>(3)? as u64,
                work_ns: r.get::<_, i64>(4)? as u64,
                place: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every sample with its plan row, in plan order.
    pub fn rows(&self) -> anyhow::Result<Vec<Row>> {
        let plan = self.plan()?;
        let mut st = self.conn.prepare(
            "SELECT s.seq, s.session, s.started_unix_ms, s.latency_ns, s.ok, s.risk, s.decision, \
             s.error, s.attempts, s.detail, s.load1, l.seq, l.answer, l.parsed, \
             l.prompt_tokens, l.completion_tokens, l.retries, l.timeouts, l.doc_tokens_est, \
             l.doc_cut FROM samples s LEFT JOIN llm_samples l ON l.seq = s.seq ORDER BY s.seq",
        )?;
        let rows = st.query_map([], |r| {
            let llm = match r.get::<_, Option<i64>>(11)? {
                Some(_) => Some(LlmSample {
                    answer: r.get(12)?,
                    parsed: r.get(13)?,
                    prompt_tokens: r.get(14)?,
                    completion_tokens: r.get(15)?,
                    retries: r.get(16)?,
                    timeouts: r.get(17)?,
                    doc_tokens_est: r.get(18)?,
                    doc_cut: r.get(19)?,
                }),
                None => None,
            };
            Ok(Sample {
                seq: r.get::<_, i64>(0)? as u64,
                session: r.get(1)?,
                started_unix_ms: r.get(2)?,
                latency_ns: r.get::<_, i64>(3)? as u64,
                ok: r.get(4)?,
                risk: r.get(5)?,
                decision: r.get(6)?,
                error: r.get(7)?,
                attempts: r.get(8)?,
                detail: r.get(9)?,
                load1: r.get(10)?,
                llm,
            })
        })?;
        let mut out = Vec::new();
        for s in rows {
            let s = s?;
            let Some(t) = plan.get(s.seq as usize).filter(|t| t.seq == s.seq) else {
                bail!("sample {} has no plan row", s.seq);
            };
            out.push(Row {
                trial: t.clone(),
                sample: s,
            });
        }
        Ok(out)
    }

    /// (session, started, env_start, env_end, resumed_at_samples, warm-up) rows.
    #[allow(clippy::type_complexity)]
    pub fn sessions(&self) -> anyhow::Result<Vec<(i64, String, String, Option<String>, i64, i64)>> {
        let mut st = self.conn.prepare(
            "SELECT session, started, env_start, env_end, resumed_at_samples, warmup_unrecorded \
             FROM sessions ORDER BY session",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
