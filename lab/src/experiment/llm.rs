//! The LLM arm's HTTP client: an OpenAI-compatible chat-completions endpoint or the
//! Anthropic messages API, with a client-side rate limit, retries (429 and 5xx, with
//! `retry-after`; timeouts; connection errors) and a per-request timeout. The API key
//! is read from the environment, sent only in its header, and never logged: it is
//! redacted from every error text and hidden from `Debug`.

use super::config::{LlmArmConfig, Provider};
use serde_json::{json, Value};
use std::fmt;
use std::time::{Duration, Instant};
use tcp_spec::RiskLevel;

pub struct LlmClient {
    cfg: LlmArmConfig,
    key: Option<String>,
    http: reqwest::Client,
    next_slot: tokio::sync::Mutex<Option<Instant>>,
}

impl fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmClient")
            .field("provider", &self.cfg.provider)
            .field("url", &self.cfg.url)
            .field("model", &self.cfg.model)
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Characters per token assumed when documentation is cut to a token budget (the
/// usual figure for English text; the API's own count is recorded with every answer).
pub const CHARS_PER_TOKEN: usize = 4;

/// The token counts an API reported for one answer (`usage`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: Option<u32>,
    pub completion_tokens: Option<u32>,
}

/// What one question cost and returned.
#[derive(Debug, Clone)]
pub struct LlmAnswer {
    /// The model's text, or why there is none.
    pub text: Result<String, String>,
    pub attempts: u32,
    /// Attempts that ran into the per-request timeout.
    pub timeouts: u32,
    /// The token counts of the answer that was kept (none when the API gave none).
    pub usage: Usage,
    /// Time spent waiting for the client-side rate limit (not part of the latency).
    pub throttled: Duration,
}

enum Attempt {
    Done(Result<String, String>, Usage),
    Retry {
        why: String,
        after: Option<Duration>,
        timed_out: bool,
    },
}

/// `text` cut to about `budget` tokens ([`CHARS_PER_TOKEN`] characters each) at a
/// word boundary; `budget == 0` keeps everything. Returns the text and whether it was
/// cut.
pub fn cut_to_budget(text: &str, budget: u32) -> (String, bool) {
    let max = (budget as usize).saturating_mul(CHARS_PER_TOKEN);
    if budget == 0 || text.chars().count() <= max {
        return (text.to_string(), false);
    }
    let end = text.char_indices().nth(max).map_or(text.len(), |(i, _)| i);
    let head = &text[..end];
    // Back to the last whitespace so that no word is cut in half (unless there is none).
    let head = match head.rfind(char::is_whitespace) {
        Some(i) if i > 0 => &head[..i],
        _ => head,
    };
    (format!("{} [...]", head.trim_end()), true)
}

impl LlmClient {
    /// Builds the client; the key comes from `api_key_env` when set (missing variable:
    /// an error, so that a run does not silently send unauthenticated requests).
    pub fn new(cfg: &LlmArmConfig) -> anyhow::Result<LlmClient> {
        let key = match &cfg.api_key_env {
            Some(var) => Some(std::env::var(var).map_err(|_| {
                tcp_spec::error::UsageError::new(format!(
                    "arms.llm.api_key_env: environment variable `{var}` is not set"
                ))
            })?),
            None => None,
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(cfg.timeout_ms.min(10_000)))
            .build()?;
        Ok(LlmClient {
            cfg: cfg.clone(),
            key,
            http,
            next_slot: tokio::sync::Mutex::new(None),
        })
    }

    /// The base URL asked.
    pub fn url(&self) -> &str {
        &self.cfg.url
    }

    /// The request with the run's timeout, the key (a bearer token for OpenAI,
    /// `x-api-key` for Anthropic) and Anthropic's version header.
    fn authorized(&self, mut req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        req = req.timeout(Duration::from_millis(self.cfg.timeout_ms));
        if let Some(k) = &self.key {
            req = match self.cfg.provider {
                Provider::Openai => req.bearer_auth(k),
                Provider::Anthropic => req.header("x-api-key", k),
            };
        }
        if self.cfg.provider == Provider::Anthropic {
            req = req.header("anthropic-version", "2023-06-01");
        }
        req
    }

    fn redact(&self, s: &str) -> String {
        match &self.key {
            Some(k) if !k.is_empty() => s.replace(k.as_str(), "<redacted>"),
            _ => s.to_string(),
        }
    }

    async fn throttle(&self) -> Duration {
        if self.cfg.requests_per_minute == 0 {
            return Duration::ZERO;
        }
        let interval = Duration::from_secs_f64(60.0 / self.cfg.requests_per_minute as f64);
        let mut next = self.next_slot.lock().await;
        let now = Instant::now();
        let wait = next.map_or(Duration::ZERO, |t| t.saturating_duration_since(now));
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        *next = Some(Instant::now() + interval);
        wait
    }

    fn endpoint(&self) -> String {
        let base = self.cfg.url.trim_end_matches('/');
        match self.cfg.provider {
            Provider::Openai => format!("{base}/chat/completions"),
            Provider::Anthropic => format!("{base}/v1/messages"),
        }
    }

    fn body(&self, user: &str) -> Value {
        let c = &self.cfg;
        match c.provider {
            Provider::Openai => json!({
                "model": c.model,
                "messages": [
                    {"role": "system", "content": c.system},
                    {"role": "user", "content": user},
                ],
                "max_tokens": c.max_tokens,
                "temperature": c.temperature,
            }),
            Provider::Anthropic => json!({
                "model": c.model,
                "system": c.system,
                "messages": [{"role": "user", "content": user}],
                "max_tokens": c.max_tokens,
                "temperature": c.temperature,
            }),
        }
    }

    fn usage(&self, v: &Value) -> Usage {
        let n = |k: &str| v["usage"][k].as_u64().and_then(|x| u32::try_from(x).ok());
        match self.cfg.provider {
            Provider::Openai => Usage {
                prompt_tokens: n("prompt_tokens"),
                completion_tokens: n("completion_tokens"),
            },
            Provider::Anthropic => Usage {
                prompt_tokens: n("input_tokens"),
                completion_tokens: n("output_tokens"),
            },
        }
    }

    /// The server's model list (`GET {url}/models`, Anthropic `GET {url}/v1/models`),
    /// for the record of a session: the JSON answer, or why there is none.
    pub async fn models(&self) -> Value {
        let base = self.cfg.url.trim_end_matches('/');
        let url = match self.cfg.provider {
            Provider::Openai => format!("{base}/models"),
            Provider::Anthropic => format!("{base}/v1/models"),
        };
        let req = self.authorized(self.http.get(url));
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return json!({"error": self.redact(&format!("request failed: {e}"))}),
        };
        let status = resp.status().as_u16();
        match resp.text().await {
            Ok(t) => match serde_json::from_str::<Value>(&t) {
                Ok(v) if (200..300).contains(&status) => v,
                _ => {
                    let snippet: String = t.chars().take(200).collect();
                    json!({"error": self.redact(&format!("HTTP {status}: {snippet}"))})
                }
            },
            Err(e) => json!({"error": self.redact(&format!("reading the answer failed: {e}"))}),
        }
    }

    fn extract(&self, v: &Value) -> Option<String> {
        match self.cfg.provider {
            Provider::Openai => v["choices"][0]["message"]["content"]
                .as_str()
                .map(str::to_string),
            Provider::Anthropic => {
                let parts: Vec<&str> = v["content"]
                    .as_array()?
                    .iter()
                    .filter(|p| p["type"] == "text")
                    .filter_map(|p| p["text"].as_str())
                    .collect();
                (!parts.is_empty()).then(|| parts.join(""))
            }
        }
    }

    async fn attempt(&self, body: &Value) -> Attempt {
        let req = self.authorized(self.http.post(self.endpoint()).json(body));
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                let why = if e.is_timeout() {
                    format!("timed out after {} ms", self.cfg.timeout_ms)
                } else {
                    self.redact(&format!("request failed: {e}"))
                };
                return if e.is_timeout() || e.is_connect() || e.is_request() {
                    Attempt::Retry {
                        why,
                        after: None,
                        timed_out: e.is_timeout(),
                    }
                } else {
                    Attempt::Done(Err(why), Usage::default())
                };
            }
        };
        let status = resp.status();
        let after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        let text = match resp.text().await {
            Ok(t) => t,
            Err(e) => {
                return Attempt::Retry {
                    why: if e.is_timeout() {
                        format!("timed out after {} ms", self.cfg.timeout_ms)
                    } else {
                        self.redact(&format!("reading the answer failed: {e}"))
                    },
                    after: None,
                    timed_out: e.is_timeout(),
                }
            }
        };
        if status.as_u16() == 429 || status.is_server_error() {
            return Attempt::Retry {
                why: format!("HTTP {}", status.as_u16()),
                after,
                timed_out: false,
            };
        }
        if !status.is_success() {
            let snippet: String = text.chars().take(200).collect();
            return Attempt::Done(
                Err(self.redact(&format!("HTTP {}: {snippet}", status.as_u16()))),
                Usage::default(),
            );
        }
        match serde_json::from_str::<Value>(&text) {
            Ok(v) => {
                let usage = self.usage(&v);
                match self.extract(&v) {
                    Some(t) => Attempt::Done(Ok(t), usage),
                    None => Attempt::Done(Err("the answer has no text content".into()), usage),
                }
            }
            Err(e) => Attempt::Done(
                Err(format!("malformed JSON in the answer: {e}")),
                Usage::default(),
            ),
        }
    }

    /// Asks one question, retrying as configured.
    pub async fn ask(&self, user: &str) -> LlmAnswer {
        let body = self.body(user);
        let mut throttled = Duration::ZERO;
        let mut timeouts = 0;
        let mut last = String::new();
        let max = self.cfg.max_retries + 1;
        for attempt in 1..=max {
            throttled += self.throttle().await;
            match self.attempt(&body).await {
                Attempt::Done(text, usage) => {
                    return LlmAnswer {
                        text,
                        attempts: attempt,
                        timeouts,
                        usage,
                        throttled,
                    }
                }
                Attempt::Retry {
                    why,
                    after,
                    timed_out,
                } => {
                    timeouts += u32::from(timed_out);
                    last = why;
                    if attempt == max {
                        break;
                    }
                    let backoff = after.unwrap_or_else(|| {
                        Duration::from_millis(
                            self.cfg
                                .backoff_ms
                                .saturating_mul(1 << (attempt - 1).min(16)),
                        )
                    });
                    tokio::time::sleep(backoff.min(Duration::from_millis(self.cfg.max_backoff_ms)))
                        .await;
                }
            }
        }
        LlmAnswer {
            text: Err(format!("gave up after {max} attempts: {last}")),
            attempts: max,
            timeouts,
            usage: Usage::default(),
            throttled,
        }
    }
}

/// The first risk label in a model's answer (`SAFE`, `LOW_RISK`, `MEDIUM_RISK`,
/// `HIGH_RISK`, `CRITICAL`; spaces or dashes for the underscore are accepted; a label
/// inside a longer word such as `UNSAFE` is not). `UNKNOWN` is not a label: it is not
/// one of those the model is asked for, and models echo the question's "unknown
/// arguments" before their label (an answer with only that word is invalid).
pub fn parse_risk(text: &str) -> Option<RiskLevel> {
    let upper = text.to_uppercase();
    let words: Vec<&str> = upper
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1).copied();
        let level = match (*w, next) {
            ("SAFE", _) => Some(RiskLevel::Safe),
            ("CRITICAL", _) => Some(RiskLevel::Critical),
            ("LOW", Some("RISK")) => Some(RiskLevel::LowRisk),
            ("MEDIUM", Some("RISK")) => Some(RiskLevel::MediumRisk),
            ("HIGH", Some("RISK")) => Some(RiskLevel::HighRisk),
            _ => None,
        };
        if level.is_some() {
            return level;
        }
    }
    None
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn labels_are_found_in_free_text() {
        assert_eq!(parse_risk("HIGH_RISK"), Some(RiskLevel::HighRisk));
        assert_eq!(
            parse_risk("I'd say: medium risk."),
            Some(RiskLevel::MediumRisk)
        );
        assert_eq!(
            parse_risk("Low-risk, not CRITICAL"),
            Some(RiskLevel::LowRisk)
        );
        assert_eq!(parse_risk("UNSAFE to run"), None);
        assert_eq!(parse_risk("safe"), Some(RiskLevel::Safe));
        assert_eq!(parse_risk("no idea"), None);
        assert_eq!(
            parse_risk("The risk of `ls` with unknown arguments is MEDIUM_RISK."),
            Some(RiskLevel::MediumRisk),
            "an echoed 'unknown' does not hide the label"
        );
        assert_eq!(parse_risk("Unknown."), None, "not one of the asked labels");
        assert_eq!(
            parse_risk("The risk of `ls` with unknown arguments is low."),
            None
        );
    }

    #[test]
    fn documentation_is_cut_to_the_budget_at_a_word_boundary() {
        let text = "alpha beta gamma delta epsilon zeta eta theta";
        assert_eq!(cut_to_budget(text, 0), (text.to_string(), false));
        assert_eq!(cut_to_budget(text, 100), (text.to_string(), false));
        let (cut, was) = cut_to_budget(text, 3);
        assert!(was);
        assert_eq!(cut, "alpha beta [...]");
        // Multi-byte text is cut on a character boundary.
        let (cut, was) = cut_to_budget(&"é".repeat(40), 2);
        assert!(was);
        assert_eq!(cut, format!("{} [...]", "é".repeat(8)));
    }
}
