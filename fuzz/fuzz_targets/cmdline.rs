//! The command-line lexer and the classifier: any bytes (as text) are parsed, decoded
//! and checked without a panic, and every verdict carries its reasons and a score that
//! matches its risk level.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tcp_gate::classify::{cmdline, Classifier};
use tcp_spec::Policy;

static CLASSIFIER: OnceLock<Classifier> = OnceLock::new();

fuzz_target!(init: {
    // Compiling the rules takes seconds under the sanitizers: not part of any input.
    CLASSIFIER.get_or_init(Classifier::builtin);
}, |data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    if let Ok(p) = cmdline::parse(&line) {
        // Every simple command the lexer found is a list of words (possibly empty).
        for c in &p.commands {
            let _ = c.words.len();
        }
    }
    let _ = cmdline::decode_ansi_c(&line);
    let c = CLASSIFIER.get_or_init(Classifier::builtin);
    let r = c.check(&line, None, Policy::default());
    assert!(!r.reasons.is_empty(), "a verdict without reasons for {line:?}");
    assert_eq!(r.score, r.risk_level.score(), "score of {line:?}");
});
