//! The LLM arm against HTTP servers that this test starts on loopback and that speak
//! the OpenAI chat-completions and the Anthropic messages wire formats: normal and
//! slow answers, 429 with retry-after, 5xx, malformed JSON, timeouts, the API key in
//! the right header and nowhere in the results.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tcp_lab::experiment::config::{ExperimentConfig, LlmArmConfig, Provider};
use tcp_lab::experiment::llm::LlmClient;

#[derive(Clone)]
enum Reply {
    /// 200 with the provider's JSON carrying this text, after a delay.
    Text(&'static str, u64),
    /// A status with an optional retry-after header.
    Status(u16, Option<&'static str>),
    /// 200 with a body that is not JSON.
    Malformed,
}

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: String,
    body: String,
}

struct Server {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn read_request(s: &mut TcpStream) -> Option<Seen> {
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        let n = s.read(&mut tmp).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut tmp).ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
    Some(Seen {
        path,
        headers: head,
        body: String::from_utf8_lossy(&buf[head_end..]).to_string(),
    })
}

/// Starts a server answering with `replies` in order (then the last one forever).
/// It stops by itself when dropped or after 60 s.
fn serve(provider: Provider, replies: Vec<Reply>) -> Server {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let url = match provider {
        Provider::Openai => format!("http://{}/v1", l.local_addr().unwrap()),
        Provider::Anthropic => format!("http://{}", l.local_addr().unwrap()),
    };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let queue = Arc::new(Mutex::new(VecDeque::from(replies)));
    let (seen2, stop2) = (Arc::clone(&seen), Arc::clone(&stop));
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !stop2.load(Ordering::SeqCst) && Instant::now() < deadline {
            match l.accept() {
                Ok((mut s, _)) => {
                    s.set_nonblocking(false).ok();
                    let reply = {
                        let mut q = queue.lock().unwrap();
                        if q.len() > 1 {
                            q.pop_front().unwrap()
                        } else {
                            q.front().cloned().unwrap()
                        }
                    };
                    let seen = Arc::clone(&seen2);
                    std::thread::spawn(move || {
                        let Some(req) = read_request(&mut s) else {
                            return;
                        };
                        seen.lock().unwrap().push(req);
                        let (status, extra, body) = match reply {
                            Reply::Text(t, delay) => {
                                std::thread::sleep(Duration::from_millis(delay));
                                let body = match provider {
                                    Provider::Openai => serde_json::json!({
                                        "id": "x", "object": "chat.completion",
                                        "choices": [{"index": 0, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}],
                                        "usage": {"prompt_tokens": 11, "completion_tokens": 2, "total_tokens": 13}
                                    }),
                                    Provider::Anthropic => serde_json::json!({
                                        "id": "x", "type": "message", "role": "assistant",
                                        "content": [{"type": "text", "text": t}], "stop_reason": "end_turn",
                                        "usage": {"input_tokens": 13, "output_tokens": 3}
                                    }),
                                };
                                (200, String::new(), body.to_string())
                            }
                            Reply::Status(code, ra) => (
                                code,
                                ra.map(|v| format!("retry-after: {v}\r\n"))
                                    .unwrap_or_default(),
                                r#"{"error":{"message":"slow down"}}"#.to_string(),
                            ),
                            Reply::Malformed => (200, String::new(), "{\"choices\": [".to_string()),
                        };
                        let _ = write!(
                            s,
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                    });
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    Server { url, seen, stop }
}

fn llm_config(provider: Provider, url: &str, key_env: Option<&str>) -> LlmArmConfig {
    let text = format!(
        r#"
name = "t"
seed = 1
output = "o"
[tools]
[arms.llm]
provider = "{}"
url = "{url}"
model = "test-model"
{}
timeout_ms = 300
max_retries = 2
backoff_ms = 10
max_backoff_ms = 2000
prompt = "Risk of `{{tool}}`?"
"#,
        match provider {
            Provider::Openai => "openai",
            Provider::Anthropic => "anthropic",
        },
        key_env
            .map(|k| format!("api_key_env = \"{k}\""))
            .unwrap_or_default()
    );
    let c: ExperimentConfig = toml::from_str(&text).unwrap();
    c.arms.llm.unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

const KEY: &str = "sk-test-0123456789-secret";

#[test]
fn openai_answer_with_bearer_key_and_wire_format() {
    std::env::set_var("TCP_TEST_OPENAI_KEY", KEY);
    let srv = serve(Provider::Openai, vec![Reply::Text("HIGH_RISK", 0)]);
    let c = LlmClient::new(&llm_config(
        Provider::Openai,
        &srv.url,
        Some("TCP_TEST_OPENAI_KEY"),
    ))
    .unwrap();
    assert!(
        !format!("{c:?}").contains(KEY),
        "Debug must not show the key"
    );
    let a = rt().block_on(c.ask("Risk of `rm`?"));
    assert_eq!(a.text.as_deref(), Ok("HIGH_RISK"));
    assert_eq!(a.attempts, 1);
    assert_eq!(a.timeouts, 0);
    assert_eq!(
        (a.usage.prompt_tokens, a.usage.completion_tokens),
        (Some(11), Some(2)),
        "token counts from `usage`"
    );
    let seen = srv.seen.lock().unwrap().clone();
    assert_eq!(seen[0].path, "/v1/chat/completions");
    assert!(seen[0]
        .headers
        .to_lowercase()
        .contains(&format!("authorization: bearer {}", KEY.to_lowercase())));
    let body: serde_json::Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][1]["content"], "Risk of `rm`?");
}

#[test]
fn anthropic_answer_with_x_api_key() {
    std::env::set_var("TCP_TEST_ANTHROPIC_KEY", KEY);
    let srv = serve(
        Provider::Anthropic,
        vec![Reply::Text("I would say CRITICAL.", 0)],
    );
    let c = LlmClient::new(&llm_config(
        Provider::Anthropic,
        &srv.url,
        Some("TCP_TEST_ANTHROPIC_KEY"),
    ))
    .unwrap();
    let a = rt().block_on(c.ask("Risk of `dd`?"));
    assert_eq!(a.text.as_deref(), Ok("I would say CRITICAL."));
    assert_eq!(
        (a.usage.prompt_tokens, a.usage.completion_tokens),
        (Some(13), Some(3)),
        "input and output tokens from `usage`"
    );
    let seen = srv.seen.lock().unwrap().clone();
    assert_eq!(seen[0].path, "/v1/messages");
    let h = seen[0].headers.to_lowercase();
    assert!(h.contains(&format!("x-api-key: {}", KEY.to_lowercase())));
    assert!(h.contains("anthropic-version: 2023-06-01"));
    let body: serde_json::Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(body["messages"][0]["role"], "user");
    assert!(body["system"].as_str().unwrap().contains("SAFE"));
}

#[test]
fn retries_429_with_retry_after_and_5xx() {
    let srv = serve(
        Provider::Openai,
        vec![
            Reply::Status(429, Some("1")),
            Reply::Status(503, None),
            Reply::Text("SAFE", 0),
        ],
    );
    let c = LlmClient::new(&llm_config(Provider::Openai, &srv.url, None)).unwrap();
    let t0 = Instant::now();
    let a = rt().block_on(c.ask("Risk of `ls`?"));
    assert_eq!(a.text.as_deref(), Ok("SAFE"));
    assert_eq!(a.attempts, 3);
    assert!(
        t0.elapsed() >= Duration::from_millis(1000),
        "retry-after: 1 was honoured"
    );
    assert_eq!(srv.seen.lock().unwrap().len(), 3);
}

#[test]
fn gives_up_after_the_configured_retries() {
    let srv = serve(Provider::Openai, vec![Reply::Status(429, Some("0"))]);
    let c = LlmClient::new(&llm_config(Provider::Openai, &srv.url, None)).unwrap();
    let a = rt().block_on(c.ask("x"));
    let e = a.text.unwrap_err();
    assert!(
        e.contains("gave up after 3 attempts") && e.contains("429"),
        "{e}"
    );
    assert_eq!(srv.seen.lock().unwrap().len(), 3);
}

#[test]
fn malformed_json_is_an_error_not_a_crash() {
    let srv = serve(Provider::Openai, vec![Reply::Malformed]);
    let c = LlmClient::new(&llm_config(Provider::Openai, &srv.url, None)).unwrap();
    let a = rt().block_on(c.ask("x"));
    assert!(a.text.unwrap_err().contains("malformed JSON"));
    assert_eq!(a.attempts, 1, "a malformed answer is not retried");
}

#[test]
fn slow_answers_time_out_and_are_retried() {
    // First answer after 1 s (timeout 300 ms), then a slow-but-in-time one (100 ms).
    let srv = serve(
        Provider::Openai,
        vec![Reply::Text("LOW_RISK", 1000), Reply::Text("LOW_RISK", 100)],
    );
    let c = LlmClient::new(&llm_config(Provider::Openai, &srv.url, None)).unwrap();
    let a = rt().block_on(c.ask("x"));
    assert_eq!(a.text.as_deref(), Ok("LOW_RISK"));
    assert_eq!(a.attempts, 2);
    assert_eq!(a.timeouts, 1, "the first attempt timed out");
    // Always too slow: gives up with a timeout.
    let srv = serve(Provider::Openai, vec![Reply::Text("LOW_RISK", 1000)]);
    let c = LlmClient::new(&llm_config(Provider::Openai, &srv.url, None)).unwrap();
    let a = rt().block_on(c.ask("x"));
    let e = a.text.unwrap_err();
    assert!(e.contains("gave up") && e.contains("timed out"), "{e}");
}

#[test]
fn missing_key_variable_is_a_clear_error() {
    let e = LlmClient::new(&llm_config(
        Provider::Openai,
        "http://127.0.0.1:9/v1",
        Some("TCP_TEST_UNSET_VAR_X"),
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("TCP_TEST_UNSET_VAR_X"));
}

#[test]
fn a_run_with_the_llm_arm_records_answers_and_never_the_key() {
    std::env::set_var("TCP_TEST_RUN_KEY", KEY);
    let srv = serve(
        Provider::Openai,
        vec![
            Reply::Text("MEDIUM_RISK", 0),
            Reply::Status(429, Some("0")),
            Reply::Text("no idea", 0),
            Reply::Text("SAFE", 20),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = dir.path().join("llm.toml");
    std::fs::write(
        &cfg_path,
        format!(
            r#"
name = "llm"
seed = 3
output = "run"
blocks = 2
concurrency = 2
[tools]
names = ["ls", "rm", "dd"]
[arms.tcp]
[arms.llm]
provider = "openai"
url = "{}"
model = "m"
api_key_env = "TCP_TEST_RUN_KEY"
timeout_ms = 2000
backoff_ms = 10
requests_per_minute = 6000
"#,
            srv.url
        ),
    )
    .unwrap();
    let (cfg, text) = ExperimentConfig::load(&cfg_path).unwrap();
    let s = tcp_lab::experiment::runner::run(&cfg, &text, None, false).unwrap();
    assert_eq!(s.planned, 3 * 2 * 2);
    assert_eq!(s.taken_now, 12);
    let r = tcp_lab::experiment::report::write(&s.dir).unwrap();
    let llm = r.arms.iter().find(|a| a.arm.name() == "llm").unwrap();
    assert_eq!(llm.samples, 6);
    assert_eq!(llm.errors, 1, "the 'no idea' answer has no label");
    assert_eq!(llm.invalid, 1, "and it is counted as invalid, not dropped");
    let stats = llm.llm.as_ref().unwrap();
    assert_eq!((stats.answered, stats.parsed, stats.failed), (6, 5, 0));
    assert_eq!(stats.invalid_examples, ["no idea"]);
    assert!(stats.retries >= 1, "the 429 was retried");
    assert_eq!(stats.prompt_tokens.as_ref().unwrap().median, 11.0);
    let conf = llm.confusion.as_ref().unwrap();
    assert_eq!(conf.labels.last().map(String::as_str), Some("INVALID"));
    assert_eq!(conf.counts.iter().map(|r| r[6]).sum::<u64>(), 1);
    assert!(llm.mean_attempts > 1.0, "the 429 was retried");
    // The key is in no file of the run.
    for e in std::fs::read_dir(&s.dir).unwrap() {
        let bytes = std::fs::read(e.unwrap().path()).unwrap();
        assert!(!bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()));
    }
}
