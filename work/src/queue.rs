//! The job queue and the result stream on Redis Streams (docs/workers.md).
//!
//! Keys, all under one hash tag so that a Redis Cluster keeps them in one slot (the
//! scripts touch several at once); `{tcp}` is the default prefix:
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `{tcp}:jobs:<queue>` | stream, consumer group `workers` | jobs: `id`, `kind`, `spec` (JSON) |
//! | `{tcp}:results` | stream | one entry per job id: `id`, `kind`, `worker`, `result` (JSON), `seconds` |
//! | `{tcp}:enqueued` | hash | job id → when it was enqueued (ms, Redis clock): a job is enqueued once, whoever asks again |
//! | `{tcp}:started` | hash | job id → when a worker last took it (ms, Redis clock) |
//! | `{tcp}:done` | hash | job id → worker: a result is accepted once |
//! | `{tcp}:attempts` | hash | job id → deliveries so far |
//! | `{tcp}:dead` | stream | jobs that failed [`max attempts`](Queue::fail): `id`, `kind`, `spec`, `error`, `attempts` |
//! | `{tcp}:worker:<name>` | string with a TTL | a worker's heartbeat |
//!
//! A worker reads with `XREADGROUP` (new entries) after `XAUTOCLAIM` (entries another
//! worker took and has not acknowledged for the visibility timeout: its worker died).
//! While it runs a job it resets the entry's idle time (`XCLAIM … JUSTID`) so that a
//! long job is not taken from a live worker. Completion and failure are Lua scripts, so
//! that "record the result once, append it, acknowledge" happens as one step.

use crate::WorkError;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;

/// The consumer group every worker joins.
pub const GROUP: &str = "workers";
/// The default key prefix (a Redis Cluster hash tag).
pub const DEFAULT_PREFIX: &str = "{tcp}";

/// A unit of work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Unique and deterministic for the work it describes (a coordinator that runs the
    /// same plan again finds its jobs by id).
    pub id: String,
    /// What runs it (`synth`).
    pub kind: String,
    pub spec: serde_json::Value,
}

/// A job a worker has taken.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub queue: String,
    /// The stream entry (for acknowledging).
    pub entry: String,
    pub job: Job,
    /// Deliveries including this one.
    pub attempt: u64,
    /// Taken over from a worker that stopped answering.
    pub reclaimed: bool,
    /// From the entry's enqueueing to this delivery (Redis's clock: the entry's id is
    /// its time).
    pub waited: Duration,
}

/// A result on the results stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobResult {
    pub id: String,
    pub kind: String,
    pub worker: String,
    pub result: serde_json::Value,
    pub seconds: f64,
}

/// A job in the dead-letter stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadJob {
    pub id: String,
    pub kind: String,
    pub error: String,
    pub attempts: u64,
}

/// What [`Queue::fail`] did with a failed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failed {
    /// Put back on its queue for another attempt.
    Retried,
    /// Moved to the dead-letter stream.
    Dead,
}

/// How many jobs are where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    /// Entries of the job stream no worker has taken yet.
    pub queued: u64,
    /// Taken and not yet acknowledged.
    pub in_flight: u64,
    pub done: u64,
    pub dead: u64,
}

type Entry = (String, HashMap<String, String>);
type ReadReply = Option<Vec<(String, Vec<Entry>)>>;

const ENQUEUE: &str = r#"
local t = redis.call('TIME')
local ms = tostring(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
if redis.call('HSETNX', KEYS[1], ARGV[1], ms) == 1 then
  redis.call('XADD', KEYS[2], '*', 'id', ARGV[1], 'kind', ARGV[2], 'spec', ARGV[3])
  return 1
end
return 0
"#;

const STARTED: &str = r#"
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], tostring(ms))
return ms
"#;

const COMPLETE: &str = r#"
local accepted = 0
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[4]) == 1 then
  redis.call('XADD', KEYS[2], '*', 'id', ARGV[1], 'kind', ARGV[5], 'worker', ARGV[4],
             'result', ARGV[6], 'seconds', ARGV[7])
  accepted = 1
end
redis.call('XACK', KEYS[3], ARGV[2], ARGV[3])
return accepted
"#;

const FAIL: &str = r#"
local n = tonumber(redis.call('HGET', KEYS[3], ARGV[3]) or '0')
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if redis.call('HEXISTS', KEYS[4], ARGV[3]) == 1 then
  return 2
end
if n >= tonumber(ARGV[7]) then
  redis.call('XADD', KEYS[2], '*', 'id', ARGV[3], 'kind', ARGV[4], 'spec', ARGV[5],
             'error', ARGV[6], 'attempts', tostring(n))
  return 1
end
redis.call('XADD', KEYS[1], '*', 'id', ARGV[3], 'kind', ARGV[4], 'spec', ARGV[5])
return 0
"#;

/// A connection to the queue's Redis.
///
/// The connection reconnects by itself when Redis restarts; a command sent while it is
/// away fails (callers retry).
#[derive(Clone)]
pub struct Queue {
    con: ConnectionManager,
    prefix: String,
    url: String,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("url", &redacted(&self.url))
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// The URL without its password (for messages and logs).
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}

fn redis_err(url: &str, what: &str) -> impl FnOnce(redis::RedisError) -> WorkError {
    let url = redacted(url);
    let what = what.to_string();
    move |source| WorkError::Redis { url, what, source }
}

impl Queue {
    /// Connects (within `timeout`) and checks that the server answers.
    pub async fn connect(url: &str, prefix: &str, timeout: Duration) -> Result<Queue, WorkError> {
        let client = redis::Client::open(url).map_err(redis_err(url, "parse the URL"))?;
        let con = tokio::time::timeout(timeout, client.get_connection_manager())
            .await
            .map_err(|_| WorkError::Unreachable {
                url: redacted(url),
                message: format!("no answer within {} ms", timeout.as_millis()),
            })?
            .map_err(|e| WorkError::Unreachable {
                url: redacted(url),
                message: e.to_string(),
            })?;
        let q = Queue {
            con,
            prefix: prefix.to_string(),
            url: url.to_string(),
        };
        let _: String = redis::cmd("PING")
            .query_async(&mut q.con())
            .await
            .map_err(redis_err(url, "PING"))?;
        Ok(q)
    }

    fn con(&self) -> ConnectionManager {
        self.con.clone()
    }

    fn err(&self, what: &str) -> impl FnOnce(redis::RedisError) -> WorkError {
        redis_err(&self.url, what)
    }

    /// The key `<prefix>:<name>`.
    pub fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }

    fn jobs(&self, queue: &str) -> String {
        self.key(&format!("jobs:{queue}"))
    }

    /// Creates the queue's stream and consumer group if they do not exist.
    pub async fn ensure_group(&self, queue: &str) -> Result<(), WorkError> {
        let r: Result<String, _> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(self.jobs(queue))
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut self.con())
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
            Err(e) => Err(self.err("XGROUP CREATE")(e)),
        }
    }

    /// Puts `job` on `queue` unless a job with its id was enqueued before (by anyone);
    /// returns whether it was added.
    pub async fn enqueue(&self, queue: &str, job: &Job) -> Result<bool, WorkError> {
        self.ensure_group(queue).await?;
        let added: i64 = Script::new(ENQUEUE)
            .key(self.key("enqueued"))
            .key(self.jobs(queue))
            .arg(&job.id)
            .arg(&job.kind)
            .arg(job.spec.to_string())
            .invoke_async(&mut self.con())
            .await
            .map_err(self.err("enqueue"))?;
        Ok(added == 1)
    }

    /// Takes the next job of `queue` for `consumer`: first one whose worker has not
    /// touched it for `visibility` (reclaimed), else a new one, waiting up to `block`.
    /// Jobs already done are acknowledged and passed over; a job delivered more than
    /// `max_attempts` times (its workers keep dying) goes to the dead-letter stream.
    pub async fn claim(
        &self,
        queue: &str,
        consumer: &str,
        visibility: Duration,
        block: Duration,
        max_attempts: u64,
    ) -> Result<Option<Claimed>, WorkError> {
        let key = self.jobs(queue);
        let (_, stale, _): (String, Vec<Entry>, Vec<String>) = redis::cmd("XAUTOCLAIM")
            .arg(&key)
            .arg(GROUP)
            .arg(consumer)
            .arg(visibility.as_millis() as u64)
            .arg("0-0")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.con())
            .await
            .map_err(self.err("XAUTOCLAIM"))?;
        let (entry, reclaimed) = match stale.into_iter().next() {
            Some(e) => (e, true),
            None => {
                let reply: ReadReply = redis::cmd("XREADGROUP")
                    .arg("GROUP")
                    .arg(GROUP)
                    .arg(consumer)
                    .arg("COUNT")
                    .arg(1)
                    .arg("BLOCK")
                    .arg(block.as_millis().max(1) as u64)
                    .arg("STREAMS")
                    .arg(&key)
                    .arg(">")
                    .query_async(&mut self.con())
                    .await
                    .map_err(self.err("XREADGROUP"))?;
                match reply
                    .into_iter()
                    .flatten()
                    .flat_map(|(_, entries)| entries)
                    .next()
                {
                    Some(e) => (e, false),
                    None => return Ok(None),
                }
            }
        };
        let (entry_id, fields) = entry;
        let job = match job_of(&fields) {
            Ok(job) => job,
            Err(message) => {
                // Not a job at all: straight to the dead letters, with what was there.
                let id = fields
                    .get("id")
                    .cloned()
                    .unwrap_or_else(|| entry_id.clone());
                let mut con = self.con();
                let _: String = con
                    .xadd(
                        self.key("dead"),
                        "*",
                        &[
                            ("id", id.as_str()),
                            ("kind", fields.get("kind").map_or("", |s| s.as_str())),
                            ("spec", fields.get("spec").map_or("", |s| s.as_str())),
                            ("error", message.as_str()),
                            ("attempts", "1"),
                        ],
                    )
                    .await
                    .map_err(self.err("XADD dead"))?;
                let _: i64 = con
                    .xack(&key, GROUP, &[&entry_id])
                    .await
                    .map_err(self.err("XACK"))?;
                return Ok(None);
            }
        };
        let mut con = self.con();
        let done: bool = con
            .hexists(self.key("done"), &job.id)
            .await
            .map_err(self.err("HEXISTS"))?;
        if done {
            let _: i64 = con
                .xack(&key, GROUP, &[&entry_id])
                .await
                .map_err(self.err("XACK"))?;
            return Ok(None);
        }
        let attempt: u64 = con
            .hincr(self.key("attempts"), &job.id, 1)
            .await
            .map_err(self.err("HINCRBY"))?;
        let now_ms: u64 = Script::new(STARTED)
            .key(self.key("started"))
            .arg(&job.id)
            .invoke_async(&mut con)
            .await
            .map_err(self.err("started"))?;
        let waited = Duration::from_millis(now_ms.saturating_sub(entry_ms(&entry_id)));
        let claimed = Claimed {
            queue: queue.to_string(),
            entry: entry_id,
            job,
            attempt,
            reclaimed,
            waited,
        };
        if attempt > max_attempts {
            let message = format!(
                "delivered {attempt} times without a result (its workers stopped each time)"
            );
            self.fail(&claimed, &message, max_attempts).await?;
            return Ok(None);
        }
        Ok(Some(claimed))
    }

    /// Tells the group that `c` is still being worked on (resets its idle time).
    pub async fn keep(&self, c: &Claimed, consumer: &str) -> Result<(), WorkError> {
        let _: Vec<String> = redis::cmd("XCLAIM")
            .arg(self.jobs(&c.queue))
            .arg(GROUP)
            .arg(consumer)
            .arg(0)
            .arg(&c.entry)
            .arg("JUSTID")
            .query_async(&mut self.con())
            .await
            .map_err(self.err("XCLAIM"))?;
        Ok(())
    }

    /// Records `c`'s result (once per job id: a second result for the same id is not
    /// appended) and acknowledges the entry; returns whether this result was the one
    /// accepted.
    pub async fn complete(
        &self,
        c: &Claimed,
        worker: &str,
        result: &serde_json::Value,
        seconds: f64,
    ) -> Result<bool, WorkError> {
        let accepted: i64 = Script::new(COMPLETE)
            .key(self.key("done"))
            .key(self.key("results"))
            .key(self.jobs(&c.queue))
            .arg(&c.job.id)
            .arg(GROUP)
            .arg(&c.entry)
            .arg(worker)
            .arg(&c.job.kind)
            .arg(result.to_string())
            .arg(format!("{seconds:.6}"))
            .invoke_async(&mut self.con())
            .await
            .map_err(self.err("complete"))?;
        Ok(accepted == 1)
    }

    /// `c` failed with `error`: back on its queue, or to the dead letters once it has
    /// been delivered `max_attempts` times.
    pub async fn fail(
        &self,
        c: &Claimed,
        error: &str,
        max_attempts: u64,
    ) -> Result<Failed, WorkError> {
        let r: i64 = Script::new(FAIL)
            .key(self.jobs(&c.queue))
            .key(self.key("dead"))
            .key(self.key("attempts"))
            .key(self.key("done"))
            .arg(GROUP)
            .arg(&c.entry)
            .arg(&c.job.id)
            .arg(&c.job.kind)
            .arg(c.job.spec.to_string())
            .arg(error)
            .arg(max_attempts)
            .invoke_async(&mut self.con())
            .await
            .map_err(self.err("fail"))?;
        Ok(if r == 1 {
            Failed::Dead
        } else {
            Failed::Retried
        })
    }

    /// Results appended after stream position `after` (`0` for all), at most `count`,
    /// waiting up to `block` for the first; returns them with the position to read on
    /// from.
    pub async fn results_after(
        &self,
        after: &str,
        count: usize,
        block: Duration,
    ) -> Result<(Vec<JobResult>, String), WorkError> {
        let reply: ReadReply = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(count)
            .arg("BLOCK")
            .arg(block.as_millis().max(1) as u64)
            .arg("STREAMS")
            .arg(self.key("results"))
            .arg(after)
            .query_async(&mut self.con())
            .await
            .map_err(self.err("XREAD results"))?;
        let mut last = after.to_string();
        let mut out = Vec::new();
        for (id, f) in reply.into_iter().flatten().flat_map(|(_, e)| e) {
            last = id;
            let get = |k: &str| f.get(k).cloned().unwrap_or_default();
            out.push(JobResult {
                id: get("id"),
                kind: get("kind"),
                worker: get("worker"),
                result: serde_json::from_str(&get("result")).unwrap_or(serde_json::Value::Null),
                seconds: get("seconds").parse().unwrap_or(f64::NAN),
            });
        }
        Ok((out, last))
    }

    /// Every job in the dead-letter stream.
    pub async fn dead(&self) -> Result<Vec<DeadJob>, WorkError> {
        let entries: Vec<Entry> = redis::cmd("XRANGE")
            .arg(self.key("dead"))
            .arg("-")
            .arg("+")
            .query_async(&mut self.con())
            .await
            .map_err(self.err("XRANGE dead"))?;
        Ok(entries
            .into_iter()
            .map(|(_, f)| DeadJob {
                id: f.get("id").cloned().unwrap_or_default(),
                kind: f.get("kind").cloned().unwrap_or_default(),
                error: f.get("error").cloned().unwrap_or_default(),
                attempts: f.get("attempts").and_then(|a| a.parse().ok()).unwrap_or(0),
            })
            .collect())
    }

    /// When each of `ids` was enqueued and last taken by a worker (ms, Redis clock).
    pub async fn times(
        &self,
        ids: &[String],
    ) -> Result<Vec<(Option<u64>, Option<u64>)>, WorkError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut con = self.con();
        let enqueued: Vec<Option<u64>> = redis::cmd("HMGET")
            .arg(self.key("enqueued"))
            .arg(ids)
            .query_async(&mut con)
            .await
            .map_err(self.err("HMGET enqueued"))?;
        let started: Vec<Option<u64>> = redis::cmd("HMGET")
            .arg(self.key("started"))
            .arg(ids)
            .query_async(&mut con)
            .await
            .map_err(self.err("HMGET started"))?;
        Ok(enqueued.into_iter().zip(started).collect())
    }

    /// A worker's heartbeat, valid for `ttl`.
    pub async fn heartbeat(&self, worker: &str, ttl: Duration) -> Result<(), WorkError> {
        let _: () = self
            .con()
            .set_ex(
                self.key(&format!("worker:{worker}")),
                "alive",
                ttl.as_secs().max(1),
            )
            .await
            .map_err(self.err("SET heartbeat"))?;
        Ok(())
    }

    /// How many jobs of `queue` are where.
    pub async fn counts(&self, queue: &str) -> Result<Counts, WorkError> {
        self.ensure_group(queue).await?;
        let key = self.jobs(queue);
        let mut con = self.con();
        // XINFO GROUPS: the group's `lag` (entries not yet delivered) and `pending`.
        let groups: Vec<HashMap<String, redis::Value>> = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(&key)
            .query_async(&mut con)
            .await
            .map_err(self.err("XINFO GROUPS"))?;
        let int = |g: &HashMap<String, redis::Value>, k: &str| -> u64 {
            g.get(k)
                .and_then(|v| redis::from_redis_value::<u64>(v).ok())
                .unwrap_or(0)
        };
        let (queued, in_flight) = groups
            .iter()
            .find(|g| {
                g.get("name")
                    .and_then(|v| redis::from_redis_value::<String>(v).ok())
                    .as_deref()
                    == Some(GROUP)
            })
            .map_or((0, 0), |g| (int(g, "lag"), int(g, "pending")));
        let done: u64 = con.hlen(self.key("done")).await.map_err(self.err("HLEN"))?;
        let dead: u64 = con.xlen(self.key("dead")).await.map_err(self.err("XLEN"))?;
        Ok(Counts {
            queued,
            in_flight,
            done,
            dead,
        })
    }
}

/// The time in a stream entry's id (`<ms>-<seq>`).
fn entry_ms(id: &str) -> u64 {
    id.split('-')
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

fn job_of(f: &HashMap<String, String>) -> Result<Job, String> {
    let get = |k: &str| f.get(k).ok_or_else(|| format!("job entry without `{k}`"));
    let (id, kind, spec) = (get("id")?, get("kind")?, get("spec")?);
    Ok(Job {
        id: id.clone(),
        kind: kind.clone(),
        spec: serde_json::from_str(spec).map_err(|e| format!("job spec is not JSON: {e}"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redacted("redis://user:secret@127.0.0.1:6379/0"),
            "redis://***@127.0.0.1:6379/0"
        );
        assert_eq!(redacted("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }

    #[test]
    fn entries_that_are_not_jobs_say_why() {
        let mut f = HashMap::new();
        f.insert("id".to_string(), "a".to_string());
        assert!(job_of(&f).unwrap_err().contains("kind"));
        f.insert("kind".to_string(), "synth".to_string());
        f.insert("spec".to_string(), "{not json".to_string());
        assert!(job_of(&f).unwrap_err().contains("not JSON"));
        f.insert("spec".to_string(), "{}".to_string());
        assert_eq!(job_of(&f).unwrap().kind, "synth");
    }
}
