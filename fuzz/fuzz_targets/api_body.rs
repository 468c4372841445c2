//! `tcp serve`'s POST routes answer any body (the first input byte picks the route) with
//! 200 and the route's JSON, or a 4xx whose JSON body is `{"error": "..."}`; never a
//! panic, never another status.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tcp_gate::serve::{Api, Limits};
use tcp_gate::service::Gate;

static API: OnceLock<Api> = OnceLock::new();
const ROUTES: [&str; 3] = ["/v1/check", "/v1/check/batch", "/v1/validate"];

fuzz_target!(init: {
    // Loading the gate takes seconds under the sanitizers: not part of any input.
    API.get_or_init(|| Api::new(Gate::builtin(), Limits::default()));
}, |data: &[u8]| {
    let Some((pick, body)) = data.split_first() else {
        return;
    };
    let route = ROUTES[usize::from(*pick) % ROUTES.len()];
    let api = API.get_or_init(|| Api::new(Gate::builtin(), Limits::default()));
    let (status, out) = api.post(route, body);
    let v: serde_json::Value = serde_json::from_slice(&out).expect("every answer is JSON");
    match status {
        200 if route == "/v1/check" => {
            assert!(v["decision"].is_string(), "{v}");
            assert!(v["risk"].is_string(), "{v}");
        }
        200 => assert!(v.is_array(), "{v}"),
        400 | 413 => assert!(v["error"].is_string(), "{v}"),
        s => panic!("status {s} for {route}: {v}"),
    }
});
