//! Fuzz target: Traefik 1.x rule text. Parsing never panics; an error points inside the text;
//! a rule that parses can be matched and its path modifiers applied (and the result
//! normalised) without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portier_model::rules::{RequestView, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The rule, then optionally a newline and a request path to match against it.
    let (rule_text, path) = text.split_once('\n').unwrap_or((text, "/"));
    match parse(rule_text) {
        Err(e) => {
            assert!(
                e.column <= rule_text.len() + 1,
                "column {} past {rule_text:?}",
                e.column
            );
            assert!(!e.message.is_empty());
        }
        Ok(rule) => {
            let headers = http::HeaderMap::new();
            let view = RequestView {
                host: "web.local",
                path,
                query: None,
                method: &http::Method::GET,
                headers: &headers,
            };
            let _ = rule.matches(&view);
            if let Some(rw) = rule.modifiers.apply(path) {
                let _ = portier_model::path::normalize(&rw.path);
            }
        }
    }
});
